import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { keccak256, parseEther, parseEventLogs, toBytes, toHex, zeroHash, type Address, type Hex, type TransactionReceipt } from 'viem';
import { callLeafHash, callProof, callRoot } from '../settlement/call-root.ts';
import type { EpochCall } from '../settlement/epoch-tree.ts';
import { skillCallRootsAbi } from './generated/index.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';
import { verifyProtocol } from './verify-protocol.ts';
import { receiptBytes, receiptId, textHash } from '../attribution/receipts.ts';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import { ATTRIBUTION_VERIFIER_ADDRESS } from './attribution-verifier.ts';
import { callJsonRpc } from './json-rpc.ts';

// Each operator epoch's skill calls as a Merkle root, and fraud proofs against it that resolve the
// epoch's dispute as upheld. Accounts: 0 deployer/treasury/admin, 1 the operator, 2 a second
// operator (unstaked), 6 the challenger, 7 a stranger. Agents and payers in the calls are plain
// addresses here: SkillCallRoots checks the trees, not who the agents are.
const OPERATOR = 1;
const CHALLENGER = 6;
const STRANGER = 7;
const WINDOW = 100;
const BOND = parseEther('10');
const SLASH = parseEther('500');
const MIN_STAKE = parseEther('1000');
const OPERATOR_ROLE = 0;
const Status = { None: 0, Pending: 1, Disputed: 2, Finalized: 3, Reverted: 4 } as const;
const Fraud = { InferenceCountedTwice: 0, OverBudget: 1, ForgedChild: 2, CallCountedTwice: 3, ForeignInference: 4 } as const;

const CONSUMER = '0x00000000000000000000000000000000000000c1' as Address;
const AGENT_A = '0x00000000000000000000000000000000000000a1' as Address;
const AGENT_B = '0x00000000000000000000000000000000000000b1' as Address;
const AGENT_C = '0x00000000000000000000000000000000000000c2' as Address;

let t: TestProtocol;
let restore: () => Promise<void>;

const addr = (i: number): Address => t.accounts[i]!.address;
const id = (s: string): Hex => keccak256(toBytes(s));

/** A served call (as an epoch's inputs list it): by default a consumer's call of AGENT_A priced 1000 wei. */
function call(name: string, o: Partial<EpochCall['call']> = {}): EpochCall {
  return {
    call: {
      callId: id(name), parentCallId: zeroHash, skill: id('summarise'), agent: AGENT_A, payer: CONSUMER, price: '1000',
      inputHash: id(`in ${name}`), outputHash: id(`out ${name}`), inferenceReceipts: [], children: [], ...o,
    },
    signature: '0x',
    block: '1',
    terms: { dataRoyaltyBps: 0, upstream: [] },
  };
}

/** What a fraud proof takes of call `name` among `calls`. */
function proven(calls: EpochCall[], name: string) {
  const { leaf, inferenceReceipts, children, proof } = callProof(calls, id(name));
  return { leaf, inferenceReceipts, children, proof };
}

async function epochOf(epoch: bigint) {
  return (await t.as(0)).attributionSettlement.read.getEpoch([addr(OPERATOR), epoch]);
}

async function operatorStake(): Promise<bigint> {
  const p = await (await t.as(0)).staking.read.positionOf([addr(OPERATOR), OPERATOR_ROLE, 0n]);
  return p.bonded + p.unbonding;
}

/**
 * The operator posts its next epoch (an earnings root paying nothing, so nothing is drawn), after
 * the previous one's window, and the call root of `calls` unless told not to. Returns its number.
 */
async function postEpoch(calls: EpochCall[], { postRoot = true } = {}): Promise<bigint> {
  const op = await t.as(OPERATOR);
  const { lastEpoch, pendingEpoch } = await op.attributionSettlement.read.ledgerOf([addr(OPERATOR)]);
  if (pendingEpoch !== 0n) await t.increaseTime(WINDOW);
  const epoch = lastEpoch + 1n;
  await t.mined(op.attributionSettlement.write.postEpoch([epoch, id(`earnings ${epoch}`), 0n, id(`inputs ${epoch}`), `ipfs://epoch-${epoch}`, []]));
  if (postRoot) await t.mined(op.skillCallRoots.write.postCallRoot([epoch, callRoot(calls)]));
  return epoch;
}

/** The challenger bonds and disputes the operator's `epoch`. */
async function openDispute(epoch: bigint): Promise<void> {
  const c = await t.as(CHALLENGER);
  await t.mined(c.openToken.write.approve([t.addresses.attributionSettlement, BOND]));
  await t.mined(c.attributionSettlement.write.dispute([addr(OPERATOR), epoch, id('call tree fraud'), 'ipfs://evidence']));
}

/** Asserts that `receipt` proved `fraud` in `epoch`: reverted, the operator slashed, the bond back to the challenger. */
async function assertUpheld(receipt: TransactionReceipt, epoch: bigint, fraud: number, stakeBefore: bigint, bondHolderBefore: bigint): Promise<void> {
  const [proven] = parseEventLogs({ abi: skillCallRootsAbi, logs: receipt.logs, eventName: 'FraudProven' });
  assert.ok(proven, 'FraudProven emitted');
  assert.deepEqual([proven.args.operator, proven.args.epoch, proven.args.fraud, proven.args.prover], [addr(OPERATOR), epoch, fraud, addr(CHALLENGER)]);
  assert.equal((await epochOf(epoch)).status, Status.Reverted);
  assert.equal(await operatorStake(), stakeBefore - SLASH);
  assert.equal(await (await t.as(0)).openToken.read.balanceOf([addr(CHALLENGER)]), bondHolderBefore + BOND, 'the bond is back with the challenger');
  // the operator's withdrawals are no longer frozen: it may unbond again
  await t.mined((await t.as(OPERATOR)).staking.write.requestUnbond([OPERATOR_ROLE, 0n, 1n]));
}

/** Opens the dispute of `epoch`, runs `prove` as the challenger and checks the dispute was upheld. */
async function proveUpheld(epoch: bigint, fraud: number, prove: (c: Awaited<ReturnType<TestProtocol['as']>>) => Promise<Hex>): Promise<void> {
  await openDispute(epoch);
  const stake = await operatorStake();
  const c = await t.as(CHALLENGER);
  const balance = await c.openToken.read.balanceOf([addr(CHALLENGER)]);
  await assertUpheld(await t.mined(prove(c)), epoch, fraud, stake, balance);
}

before(async () => {
  t = await startTestProtocol();
  const admin = await t.as(0);
  for (const i of [OPERATOR, CHALLENGER, STRANGER]) await t.mined(admin.openToken.write.transfer([addr(i), parseEther('10000')]));
  const op = await t.as(OPERATOR);
  await t.mined(op.openToken.write.approve([t.addresses.staking, MIN_STAKE]));
  await t.mined(op.staking.write.stake([OPERATOR_ROLE, 0n, MIN_STAKE]));
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

afterEach(async () => {
  await restore();
});

test('the contract hashes a leaf as call-root.ts does (the standard leaf of the ten fields)', async () => {
  const calls = [call('x', { inferenceReceipts: [id('r1'), id('r2')], children: [id('kid')], price: parseEther('3').toString() }), call('y')];
  const roots = (await t.as(0)).skillCallRoots;
  for (const c of calls) {
    const { leaf } = callProof(calls, c.call.callId);
    assert.equal(await roots.read.callLeafHash([leaf]), callLeafHash(leaf));
  }
});

test('the operator posts the call root of its own pending epoch once, within its window; anyone else, a zero root, a second root, or a closed window are refused', async () => {
  const calls = [call('x'), call('y')];
  const root = callRoot(calls);
  const epoch = await postEpoch([], { postRoot: false });
  const roots = (await t.as(OPERATOR)).skillCallRoots;
  await expectRevert((await t.as(STRANGER)).skillCallRoots.write.postCallRoot([epoch, root]), 'SkillCallRootsNotEpochOperator', [addr(STRANGER), epoch]);
  await expectRevert(roots.write.postCallRoot([epoch + 1n, root]), 'SkillCallRootsNotEpochOperator', [addr(OPERATOR), epoch + 1n]);
  await expectRevert(roots.write.postCallRoot([epoch, zeroHash]), 'SkillCallRootsEmptyRoot', [epoch]);
  const receipt = await t.mined(roots.write.postCallRoot([epoch, root]));
  const [posted] = parseEventLogs({ abi: skillCallRootsAbi, logs: receipt.logs, eventName: 'CallRootPosted' });
  assert.deepEqual(posted?.args, { operator: addr(OPERATOR), epoch, root, callFeeBps: 100 });
  assert.equal(await roots.read.callRootOf([addr(OPERATOR), epoch]), root);
  assert.equal(await roots.read.callFeeBpsOf([addr(OPERATOR), epoch]), 100);
  await expectRevert(roots.write.postCallRoot([epoch, callRoot([call('z')])]), 'SkillCallRootsAlreadyPosted', [addr(OPERATOR), epoch, root]);

  // the next epoch: a closed window, then a disputed epoch and a finalized one, are refused
  const second = await postEpoch([], { postRoot: false });
  assert.equal((await epochOf(epoch)).status, Status.Finalized);
  await expectRevert(roots.write.postCallRoot([epoch, root]), 'SkillCallRootsAlreadyPosted');
  await t.increaseTime(WINDOW);
  await expectRevert(roots.write.postCallRoot([second, root]), 'SkillCallRootsChallengeWindowClosed', [addr(OPERATOR), second]);
  const third = await postEpoch([], { postRoot: false });
  assert.equal((await epochOf(second)).status, Status.Finalized);
  await expectRevert(roots.write.postCallRoot([second, root]), 'SkillCallRootsEpochNotPending', [addr(OPERATOR), second]);
  await openDispute(third);
  await expectRevert(roots.write.postCallRoot([third, root]), 'SkillCallRootsEpochNotPending', [addr(OPERATOR), third]);
});

test('a call is paid only once its epoch is settled: not before the window ends, not while disputed, not reverted; never for a leaf not in the root', async () => {
  const calls = [call('x'), call('y', { inferenceReceipts: [id('r1')] })];
  const epoch = await postEpoch(calls);
  const roots = (await t.as(0)).skillCallRoots;
  const x = callProof(calls, id('x'));
  const paid = (leaf = x.leaf, proof = x.proof, e = epoch) => roots.read.isPaidCall([addr(OPERATOR), e, leaf, proof]);
  assert.equal(await paid(), false, 'pending, window open');
  await t.increaseTime(WINDOW);
  assert.equal((await epochOf(epoch)).status, Status.Pending, 'nobody finalized it yet');
  assert.equal(await paid(), true, 'pending past its window: final for whoever acts next');
  assert.equal(await paid({ ...x.leaf, price: x.leaf.price + 1n }), false, 'an altered leaf');
  assert.equal(await paid(callProof([call('z')], id('z')).leaf, []), false, 'a leaf not in the root');
  assert.equal(await paid(x.leaf, x.proof, epoch + 1n), false, 'an epoch without a call root');
  await t.mined((await t.as(0)).attributionSettlement.write.finalizeEpoch([addr(OPERATOR)]));
  assert.equal((await epochOf(epoch)).status, Status.Finalized);
  assert.equal(await paid(), true);

  // a disputed epoch pays nothing, nor a reverted one
  const next = await postEpoch(calls);
  await openDispute(next);
  assert.equal(await paid(x.leaf, x.proof, next), false, 'disputed');
  await t.increaseTime(WINDOW);
  assert.equal(await paid(x.leaf, x.proof, next), false, 'disputed, past the window');
  await t.mined((await t.as(0)).attributionSettlement.write.grantRole([keccak256(toBytes('ARBITER_ROLE')), addr(0)]));
  await t.mined((await t.as(0)).attributionSettlement.write.resolveDispute([addr(OPERATOR), next, true]));
  assert.equal((await epochOf(next)).status, Status.Reverted);
  assert.equal(await paid(x.leaf, x.proof, next), false, 'reverted');
  assert.equal(await paid(), true, 'the earlier epoch still paid it');
});

test('inference counted twice: two calls listing one receipt, in one epoch or in an earlier one, revert the later epoch and slash its operator', async () => {
  const calls = [call('x', { inferenceReceipts: [id('r1'), id('r2')] }), call('y', { inferenceReceipts: [id('r2'), id('r3')] }), call('z', { inferenceReceipts: [id('r4')] })];
  const epoch = await postEpoch(calls);
  const c = (await t.as(CHALLENGER)).skillCallRoots;
  const [x, y, z] = [proven(calls, 'x'), proven(calls, 'y'), proven(calls, 'z')];
  const op = addr(OPERATOR);
  await expectRevert(c.write.proveInferenceCountedTwice([op, epoch, x, epoch, y, id('r2')]), 'SkillCallRootsNoOpenDispute', [op, epoch]);
  await openDispute(epoch);
  // honest evidence: a receipt one of the calls does not list, or one call twice
  await expectRevert(c.write.proveInferenceCountedTwice([op, epoch, x, epoch, z, id('r1')]), 'SkillCallRootsReceiptNotListed', [id('z'), id('r1')]);
  await expectRevert(c.write.proveInferenceCountedTwice([op, epoch, x, epoch, x, id('r1')]), 'SkillCallRootsSameCall', [id('x')]);
  // forged evidence: lists that are not the leaf's, a proof that is not the root's
  await expectRevert(c.write.proveInferenceCountedTwice([op, epoch, { ...z, inferenceReceipts: [id('r2')] }, epoch, y, id('r2')]), 'SkillCallRootsListsMismatch', [id('z')]);
  await expectRevert(c.write.proveInferenceCountedTwice([op, epoch, { ...x, proof: z.proof }, epoch, y, id('r2')]), 'SkillCallRootsInvalidProof', [op, epoch, id('x')]);
  const stake = await operatorStake();
  const balance = await (await t.as(0)).openToken.read.balanceOf([addr(CHALLENGER)]);
  await assertUpheld(await t.mined(c.write.proveInferenceCountedTwice([op, epoch, x, epoch, y, id('r2')])), epoch, Fraud.InferenceCountedTwice, stake, balance);
  await expectRevert(c.write.proveInferenceCountedTwice([op, epoch, x, epoch, y, id('r2')]), 'SkillCallRootsNoOpenDispute', [op, epoch]);

  // across epochs: the earlier final, the later disputed (in either argument order)
  await restore();
  const first = [call('x', { inferenceReceipts: [id('r1')] })];
  const second = [call('w', { inferenceReceipts: [id('r1')] })];
  const e1 = await postEpoch(first);
  const e2 = await postEpoch(second);
  // the dispute is the later epoch's: disputing the earlier is impossible once it is final
  await expectRevert(c.write.proveInferenceCountedTwice([op, e1, proven(first, 'x'), e2, proven(second, 'w'), id('r1')]), 'SkillCallRootsNoOpenDispute', [op, e2]);
  await proveUpheld(e2, Fraud.InferenceCountedTwice, (s) => s.skillCallRoots.write.proveInferenceCountedTwice([op, e2, proven(second, 'w'), e1, proven(first, 'x'), id('r1')]));
});

test('over budget: children and protocol fee beyond the parent price revert the epoch; a tree within budget, a child not listed or given twice are refused', async () => {
  // 1 % of 1000 is 10: children of 500 + 490 fit exactly, 500 + 491 do not
  const honest = [
    call('p', { price: '1000', children: [id('a'), id('b')] }),
    call('a', { parentCallId: id('p'), agent: AGENT_B, payer: AGENT_A, price: '500' }),
    call('b', { parentCallId: id('p'), agent: AGENT_C, payer: AGENT_A, price: '490' }),
    call('stray', { parentCallId: id('other'), agent: AGENT_C, payer: AGENT_A, price: '1' }),
  ];
  const op = addr(OPERATOR);
  const epoch = await postEpoch(honest);
  const c = (await t.as(CHALLENGER)).skillCallRoots;
  const [p, a, b] = [proven(honest, 'p'), proven(honest, 'a'), proven(honest, 'b')];
  await expectRevert(c.write.proveOverBudget([op, epoch, p, [a, b]]), 'SkillCallRootsNoOpenDispute', [op, epoch]);
  await openDispute(epoch);
  await expectRevert(c.write.proveOverBudget([op, epoch, p, [a, b]]), 'SkillCallRootsWithinBudget', [id('p'), 1000n, 1000n]);
  await expectRevert(c.write.proveOverBudget([op, epoch, p, [a, a]]), 'SkillCallRootsChildGivenTwice', [id('a')]);
  await expectRevert(c.write.proveOverBudget([op, epoch, p, [a, proven(honest, 'stray')]]), 'SkillCallRootsNotAChild', [id('p'), id('stray')]);
  await expectRevert(c.write.proveOverBudget([op, epoch, p, []]), 'SkillCallRootsWithinBudget', [id('p'), 10n, 1000n]);

  await restore();
  const over = [honest[0]!, honest[1]!, call('b', { parentCallId: id('p'), agent: AGENT_C, payer: AGENT_A, price: '491' })];
  const e = await postEpoch(over);
  await proveUpheld(e, Fraud.OverBudget, (s) => s.skillCallRoots.write.proveOverBudget([op, e, proven(over, 'p'), [proven(over, 'a'), proven(over, 'b')]]));
});

test('over budget: children whose prices sum past 2^256 are over any budget', async () => {
  const max = 2n ** 256n - 1n;
  const fee = (max * 100n) / 10_000n;
  const calls = [
    call('p', { price: max.toString(), children: [id('a'), id('b')] }),
    // exactly what is left after the fee: within budget alone
    call('a', { parentCallId: id('p'), agent: AGENT_B, payer: AGENT_A, price: (max - fee).toString() }),
    call('b', { parentCallId: id('p'), agent: AGENT_C, payer: AGENT_A, price: '1' }),
  ];
  const epoch = await postEpoch(calls);
  await openDispute(epoch);
  const c = (await t.as(CHALLENGER)).skillCallRoots;
  await expectRevert(c.write.proveOverBudget([addr(OPERATOR), epoch, proven(calls, 'p'), [proven(calls, 'a')]]), 'SkillCallRootsWithinBudget', [id('p'), max, max]);
  await proveUpheldOpen(epoch, Fraud.OverBudget, () => c.write.proveOverBudget([addr(OPERATOR), epoch, proven(calls, 'p'), [proven(calls, 'a'), proven(calls, 'b')]]));
});

test('over budget counts the fee its call root was posted under, not a later one', async () => {
  const calls = [call('p', { price: '1000', children: [id('a')] }), call('a', { parentCallId: id('p'), agent: AGENT_B, payer: AGENT_A, price: '995' })];
  const epoch = await postEpoch(calls); // under 1 %: 10 + 995 > 1000
  const admin = (await t.as(0)).skillCallRoots;
  await expectRevert((await t.as(STRANGER)).skillCallRoots.write.setCallFeeBps([0]), 'AccessControlUnauthorizedAccount');
  await expectRevert(admin.write.setCallFeeBps([1_001]), 'SkillCallRootsInvalidCallFee', [1_001]);
  await t.mined(admin.write.setCallFeeBps([0]));
  assert.equal(await admin.read.callFeeBps(), 0);
  assert.equal(await admin.read.callFeeBpsOf([addr(OPERATOR), epoch]), 100);
  await proveUpheld(epoch, Fraud.OverBudget, (s) => s.skillCallRoots.write.proveOverBudget([addr(OPERATOR), epoch, proven(calls, 'p'), [proven(calls, 'a')]]));
});

test('forged child: a call naming a parent that did not list it, or did not pay it, reverts the epoch; a child made by its parent is refused', async () => {
  const op = addr(OPERATOR);
  const calls = [
    call('p', { children: [id('a')] }),
    call('a', { parentCallId: id('p'), agent: AGENT_B, payer: AGENT_A, price: '100' }),
    call('orphan', { parentCallId: id('p'), agent: AGENT_C, payer: AGENT_A, price: '100' }),
    call('q'),
  ];
  const epoch = await postEpoch(calls);
  const c = (await t.as(CHALLENGER)).skillCallRoots;
  await expectRevert(c.write.proveForgedChild([op, epoch, proven(calls, 'orphan'), proven(calls, 'p')]), 'SkillCallRootsNoOpenDispute', [op, epoch]);
  await openDispute(epoch);
  await expectRevert(c.write.proveForgedChild([op, epoch, proven(calls, 'a'), proven(calls, 'p')]), 'SkillCallRootsChildNotForged', [id('p'), id('a')]);
  await expectRevert(c.write.proveForgedChild([op, epoch, proven(calls, 'a'), proven(calls, 'q')]), 'SkillCallRootsNotAChild', [id('q'), id('a')]);
  await expectRevert(c.write.proveForgedChild([op, epoch, proven(calls, 'q'), proven(calls, 'p')]), 'SkillCallRootsNotAChild', [id('p'), id('q')]);
  const stake = await operatorStake();
  const balance = await (await t.as(0)).openToken.read.balanceOf([addr(CHALLENGER)]);
  await assertUpheld(await t.mined(c.write.proveForgedChild([op, epoch, proven(calls, 'orphan'), proven(calls, 'p')])), epoch, Fraud.ForgedChild, stake, balance);

  // listed, but paid by someone other than the parent's agent
  await restore();
  const paidByOther = [call('p', { children: [id('a')] }), call('a', { parentCallId: id('p'), agent: AGENT_B, payer: CONSUMER, price: '100' })];
  const e = await postEpoch(paidByOther);
  await proveUpheld(e, Fraud.ForgedChild, (s) => s.skillCallRoots.write.proveForgedChild([op, e, proven(paidByOther, 'a'), proven(paidByOther, 'p')]));
});

test('call counted twice: one call id in two epochs reverts the later; different calls, one leaf, or an earlier epoch that was reverted are refused', async () => {
  const op = addr(OPERATOR);
  const first = [call('x'), call('y')];
  const second = [call('x', { price: '999' }), call('w')];
  const e1 = await postEpoch(first);
  const e2 = await postEpoch(second);
  const c = (await t.as(CHALLENGER)).skillCallRoots;
  await expectRevert(c.write.proveCallCountedTwice([op, e1, proven(first, 'x'), e2, proven(second, 'x')]), 'SkillCallRootsNoOpenDispute', [op, e2]);
  await openDispute(e2);
  await expectRevert(c.write.proveCallCountedTwice([op, e1, proven(first, 'y'), e2, proven(second, 'w')]), 'SkillCallRootsDifferentCalls', [id('y'), id('w')]);
  await expectRevert(c.write.proveCallCountedTwice([op, e2, proven(second, 'x'), e2, proven(second, 'x')]), 'SkillCallRootsSameLeaf', [e2]);
  await expectRevert(c.write.proveCallCountedTwice([op, e2, proven(first, 'x'), e2, proven(second, 'x')]), 'SkillCallRootsInvalidProof', [op, e2, id('x')]);
  const stake = await operatorStake();
  const balance = await (await t.as(0)).openToken.read.balanceOf([addr(CHALLENGER)]);
  await assertUpheld(await t.mined(c.write.proveCallCountedTwice([op, e1, proven(first, 'x'), e2, proven(second, 'x')])), e2, Fraud.CallCountedTwice, stake, balance);

  // honest: epoch 2 was reverted, so epoch 3 settles its calls again (the operator tops its stake up first)
  const operator = await t.as(OPERATOR);
  await t.mined(operator.openToken.write.approve([t.addresses.staking, SLASH + 1n]));
  await t.mined(operator.staking.write.stake([OPERATOR_ROLE, 0n, SLASH + 1n]));
  const e3 = await postEpoch(second);
  await openDispute(e3);
  await expectRevert(c.write.proveCallCountedTwice([op, e2, proven(second, 'w'), e3, proven(second, 'w')]), 'SkillCallRootsEpochReverted', [op, e2]);
  // but epoch 1's x is counted in epoch 3 too
  await proveUpheldOpen(e3, Fraud.CallCountedTwice, () => c.write.proveCallCountedTwice([op, e3, proven(second, 'x'), e1, proven(first, 'x')]));
});

/** Like {@link proveUpheld} for a dispute the challenger opened already. */
async function proveUpheldOpen(epoch: bigint, fraud: number, prove: () => Promise<Hex>): Promise<void> {
  const stake = await operatorStake();
  const balance = await (await t.as(0)).openToken.read.balanceOf([addr(CHALLENGER)]);
  await assertUpheld(await t.mined(prove()), epoch, fraud, stake, balance);
}

test('the fraud proofs decide disputes only while SkillCallRoots is an arbiter, which a joining node checks', async () => {
  const admin = await t.as(0);
  const ARBITER_ROLE = keccak256(toBytes('ARBITER_ROLE'));
  await verifyProtocol((await t.clients(0)).publicClient, t.addresses);
  await t.mined(admin.attributionSettlement.write.revokeRole([ARBITER_ROLE, t.addresses.skillCallRoots]));
  await assert.rejects(verifyProtocol((await t.clients(0)).publicClient, t.addresses), /AttributionSettlement ARBITER_ROLE is not held by the skillCallRoots/);
  const calls = [call('x', { inferenceReceipts: [id('r')] }), call('y', { inferenceReceipts: [id('r')] })];
  const epoch = await postEpoch(calls);
  await openDispute(epoch);
  const op = addr(OPERATOR);
  await expectRevert((await t.as(CHALLENGER)).skillCallRoots.write.proveInferenceCountedTwice([op, epoch, proven(calls, 'x'), epoch, proven(calls, 'y'), id('r')]), 'AccessControlUnauthorizedAccount', [t.addresses.skillCallRoots, ARBITER_ROLE]);
});

/** A receipt body naming `node` (what the verifier reads of it: its node, on chain 31337). */
function receiptBody(node: Address, name: string): ReceiptBody {
  return {
    version: 2, node, chainId: 31337,
    model: { id: '1', name, version: 1, baseModel: id('base'), adapter: id('adapter'), trace: id('trace') },
    input: { hash: textHash('q'), tokens: 3 }, output: { hash: textHash('a'), tokens: 4 },
    fee: { pricePer1kTokens: '1000', amount: '7', split: { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 } },
    parameters: { spanWeightBps: 5000, thresholdPpm: 10000, evidenceThresholdPpm: 400_000, groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 },
    contributions: [], pools: [], evidence: { coverage: 0, influenceMargin: 0, adapterGain: 0, scorePpm: 0, abstained: true },
    createdAt: '2026-12-07T00:00:00.000Z', call: id('x'),
  };
}

test('foreign inference: a call listing a receipt another node served reverts the epoch, read by the verifier predeploy; the operator\'s own receipt, an unlisted or unreadable body are refused', async () => {
  const op = addr(OPERATOR);
  const own = receiptBody(op, 'own'), foreign = receiptBody(addr(2), 'foreign');
  const garbage = toBytes('not a receipt');
  const calls = [call('x', { inferenceReceipts: [receiptId(own), receiptId(foreign), keccak256(garbage)] })];
  const epoch = await postEpoch(calls);
  const c = (await t.as(CHALLENGER)).skillCallRoots;
  const x = proven(calls, 'x');
  const bytesOf = (b: ReceiptBody) => toHex(receiptBytes(b));
  await expectRevert(c.write.proveForeignInference([op, epoch, x, bytesOf(foreign)]), 'SkillCallRootsNoOpenDispute', [op, epoch]);
  await openDispute(epoch);
  await expectRevert(c.write.proveForeignInference([op, epoch, x, bytesOf(own)]), 'SkillCallRootsReceiptNotForeign', [receiptId(own), op]);
  const unlisted = receiptBody(addr(2), 'unlisted');
  await expectRevert(c.write.proveForeignInference([op, epoch, x, bytesOf(unlisted)]), 'SkillCallRootsReceiptNotListed', [id('x'), receiptId(unlisted)]);
  await expectRevert(c.write.proveForeignInference([op, epoch, x, toHex(garbage)]), 'SkillCallRootsUnreadableReceipt', [keccak256(garbage)]);
  // the proof is decided by the predeploy: without its code there, nothing is decided
  await callJsonRpc(t.anvil.url, 'anvil_setCode', [ATTRIBUTION_VERIFIER_ADDRESS, '0x']);
  await assert.rejects(c.write.proveForeignInference([op, epoch, x, bytesOf(foreign)]));
  assert.equal((await epochOf(epoch)).status, Status.Disputed);
  await restore(); // the predeploy back, the epoch not yet posted
  assert.equal(await postEpoch(calls), epoch);
  await openDispute(epoch);
  await proveUpheldOpen(epoch, Fraud.ForeignInference, () => c.write.proveForeignInference([op, epoch, x, bytesOf(foreign)]));
});
