import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { encodeFunctionData, getContract, keccak256, parseEther, parseEventLogs, toBytes, zeroAddress, zeroHash, type Address, type Hex } from 'viem';
import { callProof, callRoot } from '../settlement/call-root.ts';
import type { EpochCall } from '../settlement/epoch-tree.ts';
import { reputationRegistryAbi } from './generated/index.ts';
import { protocolAbis } from './protocol.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

// ERC-8004 feedback, each for a skill call an operator's settled epoch paid: the payer rates the
// call's agent once per call, weighted by the call's price. Accounts: 0 deployer/treasury, 1 the
// operator, 2 Alice (owns agent 1), 3 Bob (owns agent 2), 4 the consumer, 5 a second consumer,
// 6 a stranger.
const OPERATOR = 1;
const ALICE = 2;
const BOB = 3;
const CONSUMER = 4;
const SECOND = 5;
const STRANGER = 6;
const WINDOW = 100;
const OPERATOR_ROLE = 0;

let t: TestProtocol;
let restore: () => Promise<void>;
let walletA: Address;
let walletB: Address;
let calls: EpochCall[];
let epoch: bigint;

const addr = (i: number): Address => t.accounts[i]!.address;
const id = (s: string): Hex => keccak256(toBytes(s));

function call(name: string, agent: Address, payer: Address, price: bigint, o: Partial<EpochCall['call']> = {}): EpochCall {
  return {
    call: {
      callId: id(name), parentCallId: zeroHash, skill: id('summarise'), agent, payer, price: price.toString(),
      inputHash: id(`in ${name}`), outputHash: id(`out ${name}`), inferenceReceipts: [], children: [], ...o,
    },
    signature: '0x',
    block: '1',
    terms: { dataRoyaltyBps: 0, upstream: [] },
  };
}

/** The paid-call argument of giveFeedback for call `name` of the epoch. */
function paid(name: string, among = calls, e = epoch) {
  const { leaf, proof } = callProof(among, id(name));
  return { operator: addr(OPERATOR), epoch: e, leaf, proof };
}

interface Rating {
  value: bigint;
  decimals?: number;
  tag1?: string;
  tag2?: string;
}

/** `who` rates agent `agentId` for call `name`. */
async function rate(who: number, agentId: bigint, name: string, r: Rating, paidCall = paid(name)): Promise<Hex> {
  const reputation = (await t.as(who)).reputationRegistry;
  return reputation.write.giveFeedback([agentId, r.value, r.decimals ?? 0, r.tag1 ?? 'starred', r.tag2 ?? '', 'https://agent.example/mcp', `ipfs://feedback-${name}`, id(`feedback ${name}`), paidCall]);
}

before(async () => {
  t = await startTestProtocol();
  const admin = await t.as(0);
  await t.mined(admin.openToken.write.transfer([addr(OPERATOR), parseEther('2000')]));
  const op = await t.as(OPERATOR);
  await t.mined(op.openToken.write.approve([t.addresses.staking, parseEther('1000')]));
  await t.mined(op.staking.write.stake([OPERATOR_ROLE, 0n, parseEther('1000')]));
  await t.mined((await t.as(ALICE)).agentRegistry.write.register(['ipfs://alice-agent']));
  await t.mined((await t.as(BOB)).agentRegistry.write.register(['ipfs://bob-agent']));
  walletA = await admin.agentRegistry.read.getAgentWallet([1n]);
  walletB = await admin.agentRegistry.read.getAgentWallet([2n]);
  calls = [
    call('c1', walletA, addr(CONSUMER), parseEther('3'), { children: [id('c5')] }),
    call('c2', walletA, addr(CONSUMER), parseEther('1')),
    call('c3', walletB, addr(CONSUMER), parseEther('1')),
    call('c4', walletA, addr(SECOND), parseEther('2')),
    // agent 1 called agent 2 within c1: its wallet paid
    call('c5', walletB, walletA, parseEther('1'), { parentCallId: id('c1') }),
    call('free', walletA, addr(SECOND), 0n),
  ];
  // the operator posts an epoch settling these calls, and its call root
  await t.mined(op.attributionSettlement.write.postEpoch([1n, id('earnings'), 0n, id('inputs'), 'ipfs://epoch-1', []]));
  epoch = 1n;
  await t.mined(op.skillCallRoots.write.postCallRoot([epoch, callRoot(calls)]));
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

afterEach(async () => {
  await restore();
});

test('a call can be rated only once its epoch is settled; then its payer rates its agent, and the feedback reads back', async () => {
  await expectRevert(rate(CONSUMER, 1n, 'c1', { value: 90n }), 'ReputationRegistryCallNotPaid', [addr(OPERATOR), epoch, id('c1')]);
  await t.increaseTime(WINDOW);
  const receipt = await t.mined(rate(CONSUMER, 1n, 'c1', { value: 90n, tag2: 'finance' }));
  const [feedback] = parseEventLogs({ abi: reputationRegistryAbi, logs: receipt.logs, eventName: 'NewFeedback' });
  assert.deepEqual(
    { ...feedback!.args, indexedTag1: undefined },
    { agentId: 1n, clientAddress: addr(CONSUMER), feedbackIndex: 1n, value: 90n, valueDecimals: 0, indexedTag1: undefined, tag1: 'starred', tag2: 'finance', endpoint: 'https://agent.example/mcp', feedbackURI: 'ipfs://feedback-c1', feedbackHash: id('feedback c1') },
  );
  assert.equal(feedback!.args.indexedTag1, keccak256(toBytes('starred')), 'the indexed tag is its hash');
  const [rated] = parseEventLogs({ abi: reputationRegistryAbi, logs: receipt.logs, eventName: 'FeedbackCall' });
  assert.deepEqual(rated!.args, { agentId: 1n, clientAddress: addr(CONSUMER), feedbackIndex: 1n, callId: id('c1'), operator: addr(OPERATOR), epoch, price: parseEther('3') });
  const reputation = (await t.as(0)).reputationRegistry;
  assert.deepEqual(await reputation.read.readFeedback([1n, addr(CONSUMER), 1n]), [90n, 0, 'starred', 'finance', false]);
  assert.deepEqual(await reputation.read.readFeedbackCall([1n, addr(CONSUMER), 1n]), [id('c1'), parseEther('3')]);
  assert.deepEqual(await reputation.read.feedbackOfCall([id('c1')]), { agentId: 1n, clientAddress: addr(CONSUMER), feedbackIndex: 1n });
  assert.deepEqual(await reputation.read.getClients([1n]), [addr(CONSUMER)]);
  assert.equal(await reputation.read.getLastIndex([1n, addr(CONSUMER)]), 1n);
  assert.equal(await reputation.read.getLastIndex([1n, addr(SECOND)]), 0n);
  assert.equal(await reputation.read.getIdentityRegistry(), t.addresses.agentRegistry);
  await expectRevert(reputation.read.readFeedback([1n, addr(CONSUMER), 2n]), 'ReputationRegistryUnknownFeedback', [1n, addr(CONSUMER), 2n]);
});

test('feedback without a paid call, for another payer\'s call, for a call of another agent, twice for one call, by the agent itself or with 19 decimals is refused', async () => {
  await t.increaseTime(WINDOW);
  // a call no epoch settled: its leaf is in no call root
  const unpaid = [call('never', walletA, addr(CONSUMER), parseEther('1'))];
  await expectRevert(rate(CONSUMER, 1n, 'never', { value: 90n }, paid('never', unpaid)), 'ReputationRegistryCallNotPaid', [addr(OPERATOR), epoch, id('never')]);
  // the right leaf, claimed in an epoch that has no call root, or with a price it was not paid
  await expectRevert(rate(CONSUMER, 1n, 'c1', { value: 90n }, { ...paid('c1'), epoch: 2n }), 'ReputationRegistryCallNotPaid', [addr(OPERATOR), 2n, id('c1')]);
  await expectRevert(rate(CONSUMER, 1n, 'c1', { value: 90n }, { ...paid('c1'), leaf: { ...paid('c1').leaf, price: parseEther('30') } }), 'ReputationRegistryCallNotPaid');
  await expectRevert(rate(CONSUMER, 1n, 'c4', { value: 90n }), 'ReputationRegistryNotPayer', [id('c4'), addr(SECOND), addr(CONSUMER)]);
  await expectRevert(rate(CONSUMER, 1n, 'c3', { value: 90n }), 'ReputationRegistryNotAgentCall', [id('c3'), 1n, walletB, walletA]);
  await expectRevert(rate(CONSUMER, 3n, 'c1', { value: 90n }), 'ERC721NonexistentToken', [3n]);
  await expectRevert(rate(ALICE, 1n, 'c1', { value: 100n }), 'ReputationRegistrySelfFeedback', [1n, addr(ALICE)]);
  const alice = await t.as(ALICE);
  await t.mined(alice.agentRegistry.write.setApprovalForAll([addr(STRANGER), true]));
  await expectRevert(rate(STRANGER, 1n, 'c1', { value: 100n }), 'ReputationRegistrySelfFeedback', [1n, addr(STRANGER)]);
  await expectRevert(rate(CONSUMER, 1n, 'c1', { value: 90n, decimals: 19 }), 'ReputationRegistryInvalidValueDecimals', [19]);
  await t.mined(rate(CONSUMER, 1n, 'c1', { value: 90n }));
  await expectRevert(rate(CONSUMER, 1n, 'c1', { value: 10n }), 'ReputationRegistryCallAlreadyRated', [id('c1'), 1n, addr(CONSUMER), 1n]);
});

test('an agent that paid another agent rates it from its wallet', async () => {
  await t.increaseTime(WINDOW);
  const c = await t.clients(ALICE);
  const account = getContract({ address: walletA, abi: protocolAbis.agentAccountImplementation, client: { public: c.publicClient, wallet: c.walletClient } });
  const data = encodeFunctionData({
    abi: reputationRegistryAbi,
    functionName: 'giveFeedback',
    args: [2n, 80n, 0, 'starred', '', '', '', zeroHash, paid('c5')],
  });
  await t.mined(account.write.execute([t.addresses.reputationRegistry, 0n, data, 0]));
  assert.deepEqual(await (await t.as(0)).reputationRegistry.read.readFeedback([2n, walletA, 1n]), [80n, 0, 'starred', '', false]);
});

test('the summary weights each value by the price its call paid, brings values to the most decimals, and leaves revoked feedback out', async () => {
  await t.increaseTime(WINDOW);
  await t.mined(rate(CONSUMER, 1n, 'c1', { value: 90n })); // 3 OPEN
  await t.mined(rate(CONSUMER, 1n, 'c2', { value: 3000n, decimals: 2 })); // 30.00, 1 OPEN
  await t.mined(rate(SECOND, 1n, 'c4', { value: -15n, tag1: 'uptime' })); // 2 OPEN
  const reputation = (await t.as(0)).reputationRegistry;
  const summary = (clients: Address[], tag1 = '', tag2 = '') => reputation.read.getSummary([1n, clients, tag1, tag2]);
  // (90 × 3 + 30 × 1) / 4 = 75, at 2 decimals; the plain average would be 60
  assert.deepEqual(await summary([addr(CONSUMER)]), [2n, 7500n, 2, parseEther('4')]);
  // everyone: (270 + 30 - 30) / 6 = 45
  assert.deepEqual(await summary([]), [3n, 4500n, 2, parseEther('6')]);
  assert.deepEqual(await summary([addr(SECOND)]), [1n, -15n, 0, parseEther('2')]);
  assert.deepEqual(await summary([], 'starred'), [2n, 7500n, 2, parseEther('4')]);
  assert.deepEqual(await summary([], 'uptime', 'day'), [0n, 0n, 0, 0n]);
  assert.deepEqual(await summary([addr(STRANGER)]), [0n, 0n, 0, 0n]);
  assert.deepEqual(await reputation.read.getClients([1n]), [addr(CONSUMER), addr(SECOND)]);
  assert.equal(await reputation.read.getLastIndex([1n, addr(CONSUMER)]), 2n);

  // a free call's feedback counts once every price is zero: the plain average
  await t.mined(rate(SECOND, 1n, 'free', { value: 40n, tag1: 'free' }));
  assert.deepEqual(await summary([], 'free'), [1n, 40n, 0, 0n]);

  // revoked: left out of the summary and (by default) the listing, and its call stays rated
  const consumer = (await t.as(CONSUMER)).reputationRegistry;
  const revoked = await t.mined(consumer.write.revokeFeedback([1n, 1n]));
  const [event] = parseEventLogs({ abi: reputationRegistryAbi, logs: revoked.logs, eventName: 'FeedbackRevoked' });
  assert.deepEqual(event!.args, { agentId: 1n, clientAddress: addr(CONSUMER), feedbackIndex: 1n });
  assert.deepEqual(await summary([addr(CONSUMER)]), [1n, 3000n, 2, parseEther('1')]);
  assert.deepEqual(await reputation.read.readFeedback([1n, addr(CONSUMER), 1n]), [90n, 0, 'starred', '', true]);
  await expectRevert(consumer.write.revokeFeedback([1n, 1n]), 'ReputationRegistryAlreadyRevoked', [1n, addr(CONSUMER), 1n]);
  await expectRevert(consumer.write.revokeFeedback([1n, 3n]), 'ReputationRegistryUnknownFeedback', [1n, addr(CONSUMER), 3n]);
  await expectRevert((await t.as(SECOND)).reputationRegistry.write.revokeFeedback([2n, 1n]), 'ReputationRegistryUnknownFeedback', [2n, addr(SECOND), 1n]);
  await expectRevert(rate(CONSUMER, 1n, 'c1', { value: 10n }), 'ReputationRegistryCallAlreadyRated');

  const all = await reputation.read.readAllFeedback([1n, [], '', '', false]);
  assert.deepEqual(all, [[addr(CONSUMER), addr(SECOND), addr(SECOND)], [2n, 1n, 2n], [3000n, -15n, 40n], [2, 0, 0], ['starred', 'uptime', 'free'], ['', '', ''], [false, false, false]]);
  const withRevoked = await reputation.read.readAllFeedback([1n, [addr(CONSUMER)], 'starred', '', true]);
  assert.deepEqual(withRevoked, [[addr(CONSUMER), addr(CONSUMER)], [1n, 2n], [90n, 3000n], [0, 2], ['starred', 'starred'], ['', ''], [true, false]]);
});

test('anyone appends responses to a feedback; they are counted by feedback and responder', async () => {
  await t.increaseTime(WINDOW);
  await t.mined(rate(CONSUMER, 1n, 'c1', { value: 20n }));
  await t.mined(rate(CONSUMER, 1n, 'c2', { value: 30n }));
  const alice = (await t.as(ALICE)).reputationRegistry;
  const receipt = await t.mined(alice.write.appendResponse([1n, addr(CONSUMER), 1n, 'ipfs://refund', id('refund')]));
  const [event] = parseEventLogs({ abi: reputationRegistryAbi, logs: receipt.logs, eventName: 'ResponseAppended' });
  assert.deepEqual(event!.args, { agentId: 1n, clientAddress: addr(CONSUMER), feedbackIndex: 1n, responder: addr(ALICE), responseURI: 'ipfs://refund', responseHash: id('refund') });
  await t.mined((await t.as(STRANGER)).reputationRegistry.write.appendResponse([1n, addr(CONSUMER), 2n, 'ipfs://spam-tag', zeroHash]));
  await t.mined(alice.write.appendResponse([1n, addr(CONSUMER), 2n, 'ipfs://answer', zeroHash]));
  await expectRevert(alice.write.appendResponse([1n, addr(CONSUMER), 3n, 'ipfs://x', zeroHash]), 'ReputationRegistryUnknownFeedback', [1n, addr(CONSUMER), 3n]);
  const count = (client: Address, index: bigint, responders: Address[] = []) => t.as(0).then((p) => p.reputationRegistry.read.getResponseCount([1n, client, index, responders]));
  assert.equal(await count(zeroAddress, 0n), 3n);
  assert.equal(await count(addr(CONSUMER), 2n), 2n);
  assert.equal(await count(addr(CONSUMER), 0n, [addr(ALICE)]), 2n);
  assert.equal(await count(addr(CONSUMER), 2n, [addr(STRANGER)]), 1n);
  assert.equal(await count(addr(SECOND), 0n), 0n);
});
