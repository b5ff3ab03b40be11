import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeDeployData, zeroAddress, type Abi, type Address, type Hex } from 'viem';
import {
  attributionSettlementAbi,
  attributionSettlementBytecode,
  inferenceEscrowAbi,
  inferenceEscrowBytecode,
  modelRegistryAbi,
  modelRegistryBytecode,
  reputationRegistryAbi,
  reputationRegistryBytecode,
  skillCallRootsAbi,
  skillCallRootsBytecode,
  validationRegistryAbi,
  validationRegistryBytecode,
} from './generated/index.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

const contractsDir = join(import.meta.dirname, '..', '..', 'contracts');

let t: TestProtocol;
before(async () => {
  t = await startTestProtocol();
});
after(() => t.stop());

test("every custom error is named after its contract, and no two contracts declare one name (decision 0021)", () => {
  const seen = new Map<string, string>();
  for (const file of readdirSync(contractsDir).filter((f) => f.endsWith('.sol'))) {
    const source = readFileSync(join(contractsDir, file), 'utf8');
    for (const [, contract, body] of source.matchAll(/^contract (\w+)[^{]*\{([\s\S]*?)^\}/gm)) {
      for (const [, name] of body!.matchAll(/^\s*error (\w+)\(/gm)) {
        assert.ok(name!.startsWith(contract!), `${file}: error ${name} does not start with ${contract}`);
        assert.ok(!seen.has(name!), `${name} is declared in ${seen.get(name!)} and ${contract}`);
        seen.set(name!, contract!);
      }
    }
  }
  assert.ok(seen.size > 50, `only ${seen.size} errors found`);
  assert.ok(!seen.has('ZeroAddress') && !seen.has('InvalidParameter'));
});

test('each zero address given to a constructor is refused with its own error', async () => {
  const { publicClient } = await t.clients(1);
  const deploy = (abi: Abi, bytecode: Hex, args: readonly unknown[]) => publicClient.call({ data: encodeDeployData({ abi, bytecode, args } as never) });
  const a = t.addresses;
  const admin: Address = t.accounts[0]!.address;
  const split = { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 };
  const settlement = (token: Address, escrow: Address, staking: Address, owner: Address) =>
    deploy(attributionSettlementAbi, attributionSettlementBytecode, [token, escrow, staking, owner, 100n, split, 10_000]);
  await expectRevert(settlement(zeroAddress, a.inferenceEscrow, a.staking, admin), 'AttributionSettlementInvalidToken', [zeroAddress]);
  await expectRevert(settlement(a.openToken, zeroAddress, a.staking, admin), 'AttributionSettlementInvalidEscrow', [zeroAddress]);
  await expectRevert(settlement(a.openToken, a.inferenceEscrow, zeroAddress, admin), 'AttributionSettlementInvalidStaking', [zeroAddress]);
  await expectRevert(settlement(a.openToken, a.inferenceEscrow, a.staking, zeroAddress), 'AttributionSettlementInvalidAdmin', [zeroAddress]);
  await settlement(a.openToken, a.inferenceEscrow, a.staking, admin);

  const escrow = (token: Address, owner: Address) => deploy(inferenceEscrowAbi, inferenceEscrowBytecode, [token, owner, 100n]);
  await expectRevert(escrow(zeroAddress, admin), 'InferenceEscrowInvalidToken', [zeroAddress]);
  await expectRevert(escrow(a.openToken, zeroAddress), 'InferenceEscrowInvalidAdmin', [zeroAddress]);
  await escrow(a.openToken, admin);

  await expectRevert(deploy(modelRegistryAbi, modelRegistryBytecode, [zeroAddress]), 'ModelRegistryInvalidDatanetRegistry', [zeroAddress]);
  await deploy(modelRegistryAbi, modelRegistryBytecode, [a.datanetRegistry]);

  await expectRevert(deploy(skillCallRootsAbi, skillCallRootsBytecode, [zeroAddress, admin, 100]), 'SkillCallRootsInvalidSettlement', [zeroAddress]);
  await expectRevert(deploy(skillCallRootsAbi, skillCallRootsBytecode, [a.attributionSettlement, zeroAddress, 100]), 'SkillCallRootsInvalidAdmin', [zeroAddress]);
  await expectRevert(deploy(skillCallRootsAbi, skillCallRootsBytecode, [a.attributionSettlement, admin, 1_001]), 'SkillCallRootsInvalidCallFee', [1_001]);
  await deploy(skillCallRootsAbi, skillCallRootsBytecode, [a.attributionSettlement, admin, 100]);

  await expectRevert(deploy(reputationRegistryAbi, reputationRegistryBytecode, [zeroAddress, a.skillCallRoots]), 'ReputationRegistryInvalidIdentityRegistry', [zeroAddress]);
  await expectRevert(deploy(reputationRegistryAbi, reputationRegistryBytecode, [a.agentRegistry, zeroAddress]), 'ReputationRegistryInvalidSkillCallRoots', [zeroAddress]);
  await deploy(reputationRegistryAbi, reputationRegistryBytecode, [a.agentRegistry, a.skillCallRoots]);

  await expectRevert(deploy(validationRegistryAbi, validationRegistryBytecode, [zeroAddress, a.staking]), 'ValidationRegistryInvalidIdentityRegistry', [zeroAddress]);
  await expectRevert(deploy(validationRegistryAbi, validationRegistryBytecode, [a.agentRegistry, zeroAddress]), 'ValidationRegistryInvalidStaking', [zeroAddress]);
  await deploy(validationRegistryAbi, validationRegistryBytecode, [a.agentRegistry, a.staking]);
});
