import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Abi } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { startAnvil, type AnvilProcess } from '../anvil.ts';
import { connectChain, type ChainClients } from '../clients.ts';
import { memoryRecorder, type DeploymentRecorder } from '../deploy.ts';
import { TEST_MNEMONIC } from '../test-chain.ts';
import { deployL1, devnetL1Params, oracleStart } from './deploy-l1.ts';
import { opArtifact } from './op-artifacts.ts';

let l1: AnvilProcess;
let clients: ChainClients;
before(async () => {
  l1 = await startAnvil({ chainId: 900, mnemonic: TEST_MNEMONIC, optimism: false, hardfork: 'prague' });
  clients = await connectChain(l1.url, mnemonicToAccount(TEST_MNEMONIC), { pollingInterval: 20 });
});
after(() => l1.stop());

/** A recorder that fails (as a crash would) on its `failAt`-th save. */
function crashingRecorder(inner: DeploymentRecorder, failAt: number): DeploymentRecorder {
  let saves = 0;
  return {
    ...inner,
    async save(chainId, step) {
      if (++saves === failAt) throw new Error('crash');
      return inner.save(chainId, step);
    },
  };
}

test('deployL1 resumes after crashes while recording its steps (a deployment or an initialisation sent, not recorded) and ends with the same, fully initialised contracts; a rerun sends nothing', async () => {
  const params = devnetL1Params(clients.account.address, oracleStart({ number: 0n, timestamp: BigInt(Math.floor(Date.now() / 1000)) }));
  const recorder = memoryRecorder();
  // crash on a save three times (a pending record, a done record, …), resuming each time
  for (const failAt of [3, 6, 11]) await assert.rejects(deployL1(clients, params, crashingRecorder(recorder, failAt)), /crash/);
  const l1Addresses = await deployL1(clients, params, recorder);
  const nonce = await clients.publicClient.getTransactionCount({ address: clients.account.address });
  assert.deepEqual(await deployL1(clients, params, recorder), l1Addresses);
  assert.equal(await clients.publicClient.getTransactionCount({ address: clients.account.address }), nonce, 'a rerun sends no transaction');

  const read = (address: `0x${string}`, name: 'OptimismPortal' | 'SystemConfig' | 'L2OutputOracle', functionName: string) =>
    clients.publicClient.readContract({ address, abi: opArtifact(name).abi as Abi, functionName });
  assert.equal(await read(l1Addresses.optimismPortal, 'OptimismPortal', 'l2Oracle'), l1Addresses.l2OutputOracle);
  assert.equal(await read(l1Addresses.optimismPortal, 'OptimismPortal', 'systemConfig'), l1Addresses.systemConfig);
  assert.equal(await read(l1Addresses.optimismPortal, 'OptimismPortal', 'superchainConfig'), l1Addresses.superchainConfig);
  assert.deepEqual(await read(l1Addresses.systemConfig, 'SystemConfig', 'gasPayingToken'), [l1Addresses.openToken, 18]);
  assert.equal(await read(l1Addresses.systemConfig, 'SystemConfig', 'isCustomGasToken'), true);
  assert.equal(await read(l1Addresses.systemConfig, 'SystemConfig', 'optimismPortal'), l1Addresses.optimismPortal);
  assert.equal(await read(l1Addresses.l2OutputOracle, 'L2OutputOracle', 'FINALIZATION_PERIOD_SECONDS'), params.finalizationPeriodSeconds);
  assert.equal(await read(l1Addresses.l2OutputOracle, 'L2OutputOracle', 'PROPOSER'), params.proposer);
  // one system deposit (the gas token for L2's L1Block), however often the deployment was resumed
  const deposits = await clients.publicClient.getContractEvents({ address: l1Addresses.optimismPortal, abi: opArtifact('OptimismPortal').abi as Abi, eventName: 'TransactionDeposited', fromBlock: 0n });
  assert.equal(deposits.length, 1);
});
