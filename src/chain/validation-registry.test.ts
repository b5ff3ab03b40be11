import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { keccak256, parseEther, parseEventLogs, toBytes, zeroAddress, zeroHash, type Address, type Hex } from 'viem';
import { validationRegistryAbi } from './generated/index.ts';
import { StakingRole } from './staking-role.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

// ERC-8004 validation: an agent's owner asks a named validator to check its work; only that
// validator answers, and only while staked as a Validator. Accounts: 0 deployer/treasury/admin,
// 1 Alice (owns agent 1), 2 Bob (owns agent 2), 3 an address Alice approves for agent 1, 4 and 5
// staked validators, 6 an unstaked one, 7 a stranger.
const ALICE = 1;
const BOB = 2;
const APPROVED = 3;
const VALIDATOR = 4;
const SECOND_VALIDATOR = 5;
const UNSTAKED = 6;
const STRANGER = 7;
const STAKE = parseEther('100');

let t: TestProtocol;
let restore: () => Promise<void>;

const addr = (i: number): Address => t.accounts[i]!.address;
const id = (s: string): Hex => keccak256(toBytes(s));

async function request(who: number, validator: number, agentId: bigint, name: string): Promise<Hex> {
  return (await t.as(who)).validationRegistry.write.validationRequest([addr(validator), agentId, `ipfs://${name}`, id(name)]);
}

async function respond(who: number, name: string, response: number, tag = ''): Promise<Hex> {
  return (await t.as(who)).validationRegistry.write.validationResponse([id(name), response, `ipfs://audit-${name}`, id(`audit ${name}`), tag]);
}

async function now(): Promise<bigint> {
  return (await (await t.clients(0)).publicClient.getBlock()).timestamp;
}

before(async () => {
  t = await startTestProtocol();
  const admin = await t.as(0);
  for (const i of [VALIDATOR, SECOND_VALIDATOR, UNSTAKED]) await t.mined(admin.openToken.write.transfer([addr(i), STAKE]));
  for (const i of [VALIDATOR, SECOND_VALIDATOR]) {
    const v = await t.as(i);
    await t.mined(v.openToken.write.approve([t.addresses.staking, STAKE]));
    await t.mined(v.staking.write.stake([StakingRole.Validator, 0n, STAKE]));
  }
  await t.mined((await t.as(ALICE)).agentRegistry.write.register(['ipfs://alice-agent']));
  await t.mined((await t.as(BOB)).agentRegistry.write.register(['ipfs://bob-agent']));
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

afterEach(async () => {
  await restore();
});

test("only the agent's owner (or an address it approved) requests a validation, once per request hash", async () => {
  const receipt = await t.mined(request(ALICE, VALIDATOR, 1n, 'job-1'));
  const [event] = parseEventLogs({ abi: validationRegistryAbi, logs: receipt.logs, eventName: 'ValidationRequest' });
  assert.deepEqual(event!.args, { validatorAddress: addr(VALIDATOR), agentId: 1n, requestURI: 'ipfs://job-1', requestHash: id('job-1') });
  await expectRevert(request(STRANGER, VALIDATOR, 1n, 'job-2'), 'ValidationRegistryNotAgentOwner', [1n, addr(STRANGER)]);
  await expectRevert(request(BOB, VALIDATOR, 1n, 'job-2'), 'ValidationRegistryNotAgentOwner', [1n, addr(BOB)]);
  await expectRevert(request(ALICE, VALIDATOR, 9n, 'job-2'), 'ERC721NonexistentToken', [9n]);
  await t.mined((await t.as(ALICE)).agentRegistry.write.approve([addr(APPROVED), 1n]));
  await t.mined(request(APPROVED, SECOND_VALIDATOR, 1n, 'job-2'));
  await expectRevert(request(ALICE, VALIDATOR, 1n, 'job-1'), 'ValidationRegistryRequestExists', [id('job-1')]);
  await expectRevert(request(BOB, VALIDATOR, 2n, 'job-1'), 'ValidationRegistryRequestExists', [id('job-1')]);
  const registry = (await t.as(ALICE)).validationRegistry;
  await expectRevert(registry.write.validationRequest([zeroAddress, 1n, 'ipfs://x', id('x')]), 'ValidationRegistryInvalidValidator', [zeroAddress]);
  await expectRevert(registry.write.validationRequest([addr(VALIDATOR), 1n, 'ipfs://x', zeroHash]), 'ValidationRegistryInvalidRequestHash', [zeroHash]);
  assert.deepEqual(await registry.read.getAgentValidations([1n]), [id('job-1'), id('job-2')]);
  assert.deepEqual(await registry.read.getValidatorRequests([addr(VALIDATOR)]), [id('job-1')]);
  assert.deepEqual(await registry.read.getValidatorRequests([addr(SECOND_VALIDATOR)]), [id('job-2')]);
  assert.equal(await registry.read.getIdentityRegistry(), t.addresses.agentRegistry);
  // not answered yet
  assert.deepEqual(await registry.read.getValidationStatus([id('job-1')]), [addr(VALIDATOR), 1n, 0, zeroHash, '', 0n]);
  await expectRevert(registry.read.getValidationStatus([id('never')]), 'ValidationRegistryUnknownRequest', [id('never')]);
});

test('only the named validator answers, 0 to 100, while staked as a Validator; it may update its answer', async () => {
  await t.mined(request(ALICE, VALIDATOR, 1n, 'job-1'));
  await t.mined(request(ALICE, UNSTAKED, 1n, 'job-2'));
  await expectRevert(respond(SECOND_VALIDATOR, 'job-1', 100), 'ValidationRegistryNotValidator', [id('job-1'), addr(VALIDATOR), addr(SECOND_VALIDATOR)]);
  await expectRevert(respond(ALICE, 'job-1', 100), 'ValidationRegistryNotValidator', [id('job-1'), addr(VALIDATOR), addr(ALICE)]);
  await expectRevert(respond(UNSTAKED, 'job-2', 100), 'ValidationRegistryValidatorNotStaked', [addr(UNSTAKED)]);
  await expectRevert(respond(VALIDATOR, 'job-1', 101), 'ValidationRegistryInvalidResponse', [101]);
  await expectRevert(respond(VALIDATOR, 'never', 100), 'ValidationRegistryUnknownRequest', [id('never')]);

  const receipt = await t.mined(respond(VALIDATOR, 'job-1', 60, 'soft-finality'));
  const [event] = parseEventLogs({ abi: validationRegistryAbi, logs: receipt.logs, eventName: 'ValidationResponse' });
  assert.deepEqual(event!.args, { validatorAddress: addr(VALIDATOR), agentId: 1n, requestHash: id('job-1'), response: 60, responseURI: 'ipfs://audit-job-1', responseHash: id('audit job-1'), tag: 'soft-finality' });
  const registry = (await t.as(0)).validationRegistry;
  assert.deepEqual(await registry.read.getValidationStatus([id('job-1')]), [addr(VALIDATOR), 1n, 60, id('audit job-1'), 'soft-finality', await now()]);
  await t.mined(respond(VALIDATOR, 'job-1', 100, 'hard-finality'));
  assert.deepEqual(await registry.read.getValidationStatus([id('job-1')]), [addr(VALIDATOR), 1n, 100, id('audit job-1'), 'hard-finality', await now()]);

  // the unstaked validator stakes and may answer; a validator that unbonds everything may not
  const unstaked = await t.as(UNSTAKED);
  await t.mined(unstaked.openToken.write.approve([t.addresses.staking, STAKE]));
  await t.mined(unstaked.staking.write.stake([StakingRole.Validator, 0n, STAKE]));
  await t.mined(respond(UNSTAKED, 'job-2', 0));
  await t.mined((await t.as(VALIDATOR)).staking.write.requestUnbond([StakingRole.Validator, 0n, STAKE]));
  await expectRevert(respond(VALIDATOR, 'job-1', 90), 'ValidationRegistryValidatorNotStaked', [addr(VALIDATOR)]);
});

test('the summary averages the answered requests of an agent, filtered by validator and tag', async () => {
  await t.mined(request(ALICE, VALIDATOR, 1n, 'job-1'));
  await t.mined(request(ALICE, VALIDATOR, 1n, 'job-2'));
  await t.mined(request(ALICE, SECOND_VALIDATOR, 1n, 'job-3'));
  await t.mined(request(ALICE, SECOND_VALIDATOR, 1n, 'unanswered'));
  await t.mined(request(BOB, VALIDATOR, 2n, 'bob-job'));
  await t.mined(respond(VALIDATOR, 'job-1', 100, 'zkml'));
  await t.mined(respond(VALIDATOR, 'job-2', 51, 'reexecution'));
  await t.mined(respond(SECOND_VALIDATOR, 'job-3', 0, 'reexecution'));
  await t.mined(respond(VALIDATOR, 'bob-job', 10));
  const registry = (await t.as(0)).validationRegistry;
  const summary = (agentId: bigint, validators: Address[] = [], tag = '') => registry.read.getSummary([agentId, validators, tag]);
  assert.deepEqual(await summary(1n), [3n, 50]); // (100 + 51 + 0) / 3, rounded down
  assert.deepEqual(await summary(1n, [addr(VALIDATOR)]), [2n, 75]);
  assert.deepEqual(await summary(1n, [], 'reexecution'), [2n, 25]);
  assert.deepEqual(await summary(1n, [addr(SECOND_VALIDATOR)], 'zkml'), [0n, 0]);
  assert.deepEqual(await summary(2n), [1n, 10]);
  assert.deepEqual(await summary(3n), [0n, 0]);
});
