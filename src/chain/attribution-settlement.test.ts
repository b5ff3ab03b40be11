import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import {
  keccak256,
  parseEther,
  parseEventLogs,
  toBytes,
  zeroAddress,
  zeroHash,
  type Address,
  type Hex,
  type TransactionReceipt,
} from 'viem';
import { attributionSettlementAbi } from './generated/index.ts';
import { callJsonRpc } from './json-rpc.ts';
import { signSpendAuthorization, type SpendAuthorization } from './spend-authorization.ts';
import { expectRevert, startTestProtocol, type TestProtocol } from './test-chain.ts';

// Accounts: 0 deployer/treasury/admin (and slash destination), 1 operator, 2 a second operator
// (unstaked until a test stakes it), 3 the consumer, 4 and 5 payees (they start with no OPEN),
// 6 a challenger, 7 a stranger, 9 the arbiter.
// Every operator settles on its own ledger: its own epoch numbers, pending epoch, final root and funds.
const OPERATOR = 1;
const SECOND_OPERATOR = 2;
const CONSUMER = 3;
const PAYEE_A = 4;
const PAYEE_B = 5;
const CHALLENGER = 6;
const STRANGER = 7;
const ARBITER = 9;
const WINDOW = 100;
const BOND = parseEther('10');
const SLASH = parseEther('500');
const MIN_STAKE = parseEther('1000');
const OPERATOR_ROLE = 0;

const Status = { None: 0, Pending: 1, Disputed: 2, Finalized: 3, Reverted: 4 } as const;

type Leaf = [Address, bigint];
type Tree = StandardMerkleTree<Leaf>;

let t: TestProtocol;
let restore: () => Promise<void>;

const addr = (i: number): Address => t.accounts[i]!.address;

function treeOf(leaves: Leaf[]): Tree {
  return StandardMerkleTree.of(leaves, ['address', 'uint256']);
}

function proofOf(tree: Tree, payee: Address): Hex[] {
  for (const [i, [who]] of tree.entries()) if (who === payee) return tree.getProof(i) as Hex[];
  throw new Error(`${payee} is not in the tree`);
}

function amountOf(tree: Tree, payee: Address): bigint {
  for (const [, [who, amount]] of tree.entries()) if (who === payee) return amount;
  throw new Error(`${payee} is not in the tree`);
}

function totalOf(tree: Tree): bigint {
  let sum = 0n;
  for (const [, [, amount]] of tree.entries()) sum += amount;
  return sum;
}

async function now(): Promise<bigint> {
  return (await (await t.clients(0)).publicClient.getBlock()).timestamp;
}

/** `operator`'s ledger (account index). */
async function ledger(operator: number = OPERATOR) {
  return (await t.as(0)).attributionSettlement.read.ledgerOf([addr(operator)]);
}

/** `operator`'s epoch `epoch`. */
async function epochOf(epoch: bigint, operator: number = OPERATOR) {
  return (await t.as(0)).attributionSettlement.read.getEpoch([addr(operator), epoch]);
}

/** The consumer's next authorization letting `operator` draw `amount` more. */
async function nextAuth(operator: number, amount: bigint) {
  const escrow = (await t.as(0)).inferenceEscrow;
  const drawn = await escrow.read.drawn([addr(CONSUMER), addr(operator)]);
  const nonce = (await escrow.read.lastNonce([addr(CONSUMER), addr(operator)])) + 1n;
  const auth: SpendAuthorization = { consumer: addr(CONSUMER), operator: addr(operator), cumulativeAmount: drawn + amount, nonce, expiry: (await now()) + 86_400n };
  const signature = await signSpendAuthorization(t.accounts[CONSUMER]!, { chainId: 31337, escrow: t.addresses.inferenceEscrow }, auth);
  return { auth, signature };
}

interface PostOptions {
  operator?: number;
  /** Default the operator's own next epoch. */
  epoch?: bigint;
  /** cumulativeTotal to declare; default the sum of the tree's leaves. */
  total?: bigint;
  /** OPEN to draw from the consumer; default just enough to fund `total` on the operator's ledger. */
  fund?: bigint;
}

/** Posts `tree` as the operator's next epoch, drawing the funds its ledger needs from the consumer's deposit. */
async function post(tree: Tree, options: PostOptions = {}): Promise<Hex> {
  const operator = options.operator ?? OPERATOR;
  const settlement = (await t.as(operator)).attributionSettlement;
  const total = options.total ?? totalOf(tree);
  const { funded, lastEpoch } = await settlement.read.ledgerOf([addr(operator)]);
  const fund = options.fund ?? (total > funded ? total - funded : 0n);
  const signed = fund > 0n ? [await nextAuth(operator, fund)] : [];
  const epoch = options.epoch ?? lastEpoch + 1n;
  return settlement.write.postEpoch([
    epoch,
    tree.root as Hex,
    total,
    keccak256(toBytes(`inputs of epoch ${epoch}`)),
    `ipfs://epoch-${epoch}`,
    signed.map((s) => ({ auth: s.auth, signature: s.signature, drawTo: s.auth.cumulativeAmount })),
  ]);
}

/** `caller` claims `payee`'s leaf of `tree` from `operator`'s ledger. */
async function claim(caller: number, tree: Tree, payee: Address, operator: number = OPERATOR): Promise<Hex> {
  return (await t.as(caller)).attributionSettlement.write.claim([addr(operator), payee, amountOf(tree, payee), proofOf(tree, payee)]);
}

async function balance(who: Address): Promise<bigint> {
  return (await t.as(0)).openToken.read.balanceOf([who]);
}

async function operatorStake(operator: number): Promise<bigint> {
  const p = await (await t.as(0)).staking.read.positionOf([addr(operator), OPERATOR_ROLE, 0n]);
  return p.bonded + p.unbonding;
}

async function stake(account: number, amount: bigint): Promise<void> {
  const c = await t.as(account);
  await t.mined(c.openToken.write.approve([t.addresses.staking, amount]));
  await t.mined(c.staking.write.stake([OPERATOR_ROLE, 0n, amount]));
}

/** `challenger` bonds and disputes `operator`'s epoch `epoch`. */
async function openDispute(epoch: bigint, operator: number = OPERATOR, challenger: number = CHALLENGER): Promise<TransactionReceipt> {
  const c = await t.as(challenger);
  await t.mined(c.openToken.write.approve([t.addresses.attributionSettlement, BOND]));
  return t.mined(c.attributionSettlement.write.dispute([addr(operator), epoch, keccak256(toBytes('receipt 42')), 'ipfs://evidence']));
}

/** The events named `eventName` that the settlement emitted in `receipt`. */
function eventsOf<N extends 'EpochPosted' | 'EpochFinalized' | 'EpochDisputed' | 'DisputeResolved' | 'EpochReverted' | 'DisputeExpired' | 'Claimed' | 'Funded'>(
  receipt: TransactionReceipt,
  eventName: N,
) {
  return parseEventLogs({ abi: attributionSettlementAbi, logs: receipt.logs, eventName }).filter(
    (log) => log.address.toLowerCase() === t.addresses.attributionSettlement.toLowerCase(),
  );
}

before(async () => {
  t = await startTestProtocol();
  const admin = await t.as(0);
  for (const i of [OPERATOR, SECOND_OPERATOR, CONSUMER, CHALLENGER, STRANGER]) {
    await t.mined(admin.openToken.write.transfer([addr(i), parseEther('10000')]));
  }
  await t.mined(admin.attributionSettlement.write.grantRole([await admin.attributionSettlement.read.ARBITER_ROLE(), addr(ARBITER)]));
  await stake(OPERATOR, MIN_STAKE);
  const consumer = await t.as(CONSUMER);
  await t.mined(consumer.openToken.write.approve([t.addresses.inferenceEscrow, parseEther('10000')]));
  await t.mined(consumer.inferenceEscrow.write.deposit([addr(CONSUMER), parseEther('10000')]));
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

afterEach(async () => {
  await restore(); // every test starts from the state the before hook set up
});

test('only an operator staked at least the minimum may post (NotOperator)', async () => {
  const tree = treeOf([[addr(PAYEE_A), parseEther('10')]]);
  await expectRevert(post(tree, { operator: SECOND_OPERATOR }), 'AttributionSettlementNotOperator', [addr(SECOND_OPERATOR)]);
  await stake(SECOND_OPERATOR, MIN_STAKE - 1n);
  await expectRevert(post(tree, { operator: SECOND_OPERATOR }), 'AttributionSettlementNotOperator', [addr(SECOND_OPERATOR)]);
  await stake(SECOND_OPERATOR, 1n);
  await t.mined(post(tree, { operator: SECOND_OPERATOR }));

  // Unbonding below the minimum makes an operator inactive again.
  await t.increaseTime(WINDOW);
  await t.mined((await t.as(SECOND_OPERATOR)).staking.write.requestUnbond([OPERATOR_ROLE, 0n, 1n]));
  await expectRevert(post(tree, { operator: SECOND_OPERATOR }), 'AttributionSettlementNotOperator', [addr(SECOND_OPERATOR)]);
});

test('epoch 1: claims fail before the window (NoFinalizedRoot) and succeed after finalizeEpoch; a second claim has nothing', async () => {
  const tree = treeOf([
    [addr(PAYEE_A), parseEther('60')],
    [addr(PAYEE_B), parseEther('40')],
  ]);
  const operator = await t.as(OPERATOR);
  const settlement = operator.attributionSettlement;
  const receipt = await t.mined(post(tree));
  const postedAt = (await (await t.clients(0)).publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
  const [posted] = eventsOf(receipt, 'EpochPosted');
  assert.deepEqual(
    [posted?.args.epoch, posted?.args.operator, posted?.args.root, posted?.args.cumulativeTotal, posted?.args.funded],
    [1n, addr(OPERATOR), tree.root, parseEther('100'), parseEther('100')],
  );

  const epoch = await settlement.read.getEpoch([addr(OPERATOR), 1n]);
  assert.equal(epoch.root, tree.root);
  assert.equal(epoch.cumulativeTotal, parseEther('100'));
  assert.equal(epoch.funded, parseEther('100'));
  assert.equal(epoch.operator, addr(OPERATOR));
  assert.equal(epoch.postedAt, postedAt);
  assert.equal(epoch.status, Status.Pending);
  assert.equal(epoch.inputsHash, keccak256(toBytes('inputs of epoch 1')));
  assert.equal(epoch.challenger, zeroAddress);
  assert.equal((await settlement.read.getEpoch([addr(SECOND_OPERATOR), 1n])).status, Status.None, "another operator's epoch 1 is its own");
  let l = await ledger();
  assert.equal(l.lastEpoch, 1n);
  assert.equal(l.pendingEpoch, 1n);
  assert.equal(l.funded, parseEther('100'));
  assert.equal(await settlement.read.totalFunded(), parseEther('100'));
  assert.equal(await balance(t.addresses.attributionSettlement), parseEther('100'));

  await expectRevert(claim(PAYEE_A, tree, addr(PAYEE_A)), 'AttributionSettlementNoFinalizedRoot');
  await t.increaseTime(WINDOW / 2);
  await expectRevert(claim(PAYEE_A, tree, addr(PAYEE_A)), 'AttributionSettlementNoFinalizedRoot');
  assert.equal((await ledger()).finalizedEpoch, 0n);

  await t.increaseTime(WINDOW / 2);
  const finalized = await t.mined(settlement.write.finalizeEpoch([addr(OPERATOR)]));
  const [fin] = eventsOf(finalized, 'EpochFinalized');
  assert.deepEqual([fin?.args.epoch, fin?.args.operator, fin?.args.root, fin?.args.cumulativeTotal], [1n, addr(OPERATOR), tree.root, parseEther('100')]);
  assert.equal((await settlement.read.getEpoch([addr(OPERATOR), 1n])).status, Status.Finalized);
  l = await ledger();
  assert.equal(l.finalizedEpoch, 1n);
  assert.equal(l.finalizedRoot, tree.root);
  assert.equal(l.finalizedTotal, parseEther('100'));
  assert.equal(l.pendingEpoch, 0n);

  assert.equal(await settlement.read.claimable([addr(OPERATOR), addr(PAYEE_A), parseEther('60')]), parseEther('60'));
  const claimedReceipt = await t.mined(claim(PAYEE_A, tree, addr(PAYEE_A)));
  const [claimedEvent] = eventsOf(claimedReceipt, 'Claimed');
  assert.deepEqual(
    [claimedEvent?.args.operator, claimedEvent?.args.payee, claimedEvent?.args.amount, claimedEvent?.args.cumulativeAmount, claimedEvent?.args.epoch],
    [addr(OPERATOR), addr(PAYEE_A), parseEther('60'), parseEther('60'), 1n],
  );
  assert.equal(await balance(addr(PAYEE_A)), parseEther('60'));
  assert.equal(await settlement.read.claimed([addr(OPERATOR), addr(PAYEE_A)]), parseEther('60'));
  assert.equal(await settlement.read.claimed([addr(SECOND_OPERATOR), addr(PAYEE_A)]), 0n, 'claims are per operator');
  assert.equal((await ledger()).claimed, parseEther('60'));
  assert.equal(await settlement.read.totalClaimed(), parseEther('60'));
  assert.equal(await settlement.read.claimable([addr(OPERATOR), addr(PAYEE_A), parseEther('60')]), 0n);
  await expectRevert(claim(PAYEE_A, tree, addr(PAYEE_A)), 'AttributionSettlementNothingToClaim', [addr(PAYEE_A)]);
  // Anyone may claim for a payee; the OPEN goes to the payee.
  await t.mined(claim(STRANGER, tree, addr(PAYEE_B)));
  assert.equal(await balance(addr(PAYEE_B)), parseEther('40'));
  await expectRevert(claim(PAYEE_B, tree, addr(PAYEE_B)), 'AttributionSettlementNothingToClaim', [addr(PAYEE_B)]);
  assert.equal(await balance(t.addresses.attributionSettlement), 0n);
});

test('claim finalizes a root whose window has passed on its own', async () => {
  const tree = treeOf([
    [addr(PAYEE_A), parseEther('7')],
    [addr(PAYEE_B), parseEther('3')],
  ]);
  await t.mined(post(tree));
  await t.increaseTime(WINDOW);
  assert.equal((await ledger()).finalizedEpoch, 0n);
  await t.mined(claim(PAYEE_B, tree, addr(PAYEE_B)));
  assert.equal((await ledger()).finalizedEpoch, 1n);
  assert.equal((await epochOf(1n)).status, Status.Finalized);
  assert.equal(await balance(addr(PAYEE_B)), parseEther('3'));
});

test("a claim with a bad proof fails (InvalidProof); one from an operator with no final root fails (NoFinalizedRoot)", async () => {
  const tree = treeOf([
    [addr(PAYEE_A), parseEther('60')],
    [addr(PAYEE_B), parseEther('40')],
  ]);
  await t.mined(post(tree));
  await t.increaseTime(WINDOW);
  const settlement = (await t.as(PAYEE_A)).attributionSettlement;
  const op = addr(OPERATOR);
  // More than the leaf says.
  await expectRevert(settlement.write.claim([op, addr(PAYEE_A), parseEther('61'), proofOf(tree, addr(PAYEE_A))]), 'AttributionSettlementInvalidProof');
  // B's leaf amount with A's address, and A's proof for B.
  await expectRevert(settlement.write.claim([op, addr(PAYEE_A), parseEther('40'), proofOf(tree, addr(PAYEE_B))]), 'AttributionSettlementInvalidProof');
  await expectRevert(settlement.write.claim([op, addr(PAYEE_B), parseEther('40'), proofOf(tree, addr(PAYEE_A))]), 'AttributionSettlementInvalidProof');
  // Not in the tree at all, with an empty proof.
  await expectRevert(settlement.write.claim([op, addr(STRANGER), parseEther('1'), []]), 'AttributionSettlementInvalidProof');
  // A valid leaf of this operator's root, claimed from another operator's ledger: that one has no final root.
  await expectRevert(settlement.write.claim([addr(SECOND_OPERATOR), addr(PAYEE_A), parseEther('60'), proofOf(tree, addr(PAYEE_A))]), 'AttributionSettlementNoFinalizedRoot');
  assert.equal(await settlement.read.totalClaimed(), 0n);
});

test("a root may not declare more than its operator drew (RootExceedsFunding), another operator's funds included", async () => {
  const tree = treeOf([[addr(PAYEE_A), parseEther('100')]]);
  await expectRevert(post(tree, { fund: parseEther('99') }), 'AttributionSettlementRootExceedsFunding', [parseEther('100'), parseEther('99')]);
  await expectRevert(post(tree, { fund: parseEther('100') - 1n }), 'AttributionSettlementRootExceedsFunding', [parseEther('100'), parseEther('100') - 1n]);
  await t.mined(post(tree, { fund: parseEther('100') }));
  await t.increaseTime(WINDOW);
  // Epoch 2 may use what epoch 1 drew: the operator's funded is cumulative.
  const tree2 = treeOf([[addr(PAYEE_A), parseEther('130')]]);
  await expectRevert(post(tree2, { fund: parseEther('29') }), 'AttributionSettlementRootExceedsFunding', [parseEther('130'), parseEther('129')]);
  await t.mined(post(tree2, { fund: parseEther('30') }));
  assert.equal((await ledger()).funded, parseEther('130'));

  // A second operator cannot post a root on the first one's funds: only what it drew itself counts.
  await stake(SECOND_OPERATOR, MIN_STAKE);
  await expectRevert(post(tree, { operator: SECOND_OPERATOR, fund: 0n }), 'AttributionSettlementRootExceedsFunding', [parseEther('100'), 0n]);
  await expectRevert(post(tree, { operator: SECOND_OPERATOR, fund: parseEther('60') }), 'AttributionSettlementRootExceedsFunding', [parseEther('100'), parseEther('60')]);
  await t.mined(post(tree, { operator: SECOND_OPERATOR, fund: parseEther('100') }));
  assert.equal((await ledger(SECOND_OPERATOR)).funded, parseEther('100'));
  assert.equal((await ledger()).funded, parseEther('130'));
  assert.equal(await (await t.as(0)).attributionSettlement.read.totalFunded(), parseEther('230'), 'totalFunded sums every ledger');
});

test('epochs must come in order (EpochOutOfOrder) with a root (EmptyRoot), drawing no more than authorised (DrawExceedsAuthorization)', async () => {
  const tree = treeOf([[addr(PAYEE_A), parseEther('1')]]);
  await expectRevert(post(tree, { epoch: 2n }), 'AttributionSettlementEpochOutOfOrder', [1n, 2n]);
  await expectRevert(post(tree, { epoch: 0n }), 'AttributionSettlementEpochOutOfOrder', [1n, 0n]);
  const settlement = (await t.as(OPERATOR)).attributionSettlement;
  await expectRevert(settlement.write.postEpoch([1n, zeroHash, 0n, zeroHash, '', []]), 'AttributionSettlementEmptyRoot', [1n]);
  const signed = await nextAuth(OPERATOR, parseEther('1'));
  await expectRevert(settlement.write.postEpoch([1n, tree.root as Hex, 0n, zeroHash, '', [{ auth: signed.auth, signature: signed.signature, drawTo: parseEther('1') + 1n }]]), 'InferenceEscrowDrawExceedsAuthorization', [parseEther('1') + 1n, parseEther('1')]);
  await t.mined(post(tree, { epoch: 1n }));
  await t.increaseTime(WINDOW);
  await expectRevert(post(tree, { epoch: 1n }), 'AttributionSettlementEpochOutOfOrder', [2n, 1n]);
  await expectRevert(post(tree, { epoch: 3n }), 'AttributionSettlementEpochOutOfOrder', [2n, 3n]);
  await t.mined(post(tree, { epoch: 2n }));
});

test('each operator numbers its own epochs from 1 and has its own pending epoch (EpochPending is per operator)', async () => {
  const tree1 = treeOf([[addr(PAYEE_A), parseEther('10')]]);
  const tree2 = treeOf([[addr(PAYEE_A), parseEther('20')]]);
  const other = treeOf([[addr(PAYEE_B), parseEther('5')]]);
  await t.mined(post(tree1));
  await expectRevert(post(tree2), 'AttributionSettlementEpochPending', [1n]);

  // The first operator's pending epoch does not hold up a second operator, whose epochs start at 1 too.
  await stake(SECOND_OPERATOR, MIN_STAKE);
  await expectRevert(post(other, { operator: SECOND_OPERATOR, epoch: 2n }), 'AttributionSettlementEpochOutOfOrder', [1n, 2n]);
  const receipt = await t.mined(post(other, { operator: SECOND_OPERATOR }));
  const [posted] = eventsOf(receipt, 'EpochPosted');
  assert.deepEqual([posted?.args.epoch, posted?.args.operator], [1n, addr(SECOND_OPERATOR)]);
  // Both have an epoch 1 pending at once, each its own.
  assert.equal((await ledger()).pendingEpoch, 1n);
  assert.equal((await ledger(SECOND_OPERATOR)).pendingEpoch, 1n);
  assert.equal((await epochOf(1n)).root, tree1.root);
  assert.equal((await epochOf(1n, SECOND_OPERATOR)).root, other.root);
  assert.equal((await epochOf(1n, SECOND_OPERATOR)).operator, addr(SECOND_OPERATOR));
  // The second operator is held up by its own pending epoch only.
  await expectRevert(post(other, { operator: SECOND_OPERATOR }), 'AttributionSettlementEpochPending', [1n]);

  await t.increaseTime(WINDOW / 2);
  await expectRevert(post(tree2), 'AttributionSettlementEpochPending', [1n]);
  await t.increaseTime(WINDOW / 2);
  await t.mined(post(tree2));
  let l = await ledger();
  assert.equal(l.finalizedEpoch, 1n);
  assert.equal(l.finalizedRoot, tree1.root);
  assert.equal(l.pendingEpoch, 2n);
  assert.equal(l.lastEpoch, 2n);
  // Posting finalized only the caller's own epoch; the second operator's finalizes on its own call.
  l = await ledger(SECOND_OPERATOR);
  assert.equal(l.pendingEpoch, 1n);
  assert.equal(l.finalizedEpoch, 0n);
  const finalized = await t.mined((await t.as(STRANGER)).attributionSettlement.write.finalizeEpoch([addr(SECOND_OPERATOR)]));
  const [fin] = eventsOf(finalized, 'EpochFinalized');
  assert.deepEqual([fin?.args.epoch, fin?.args.operator, fin?.args.root], [1n, addr(SECOND_OPERATOR), other.root]);
  l = await ledger(SECOND_OPERATOR);
  assert.equal(l.finalizedEpoch, 1n);
  assert.equal(l.finalizedRoot, other.root);
  assert.equal(l.lastEpoch, 1n);
  assert.equal((await epochOf(2n)).status, Status.Pending, "the first operator's epoch 2 is untouched");
});

test('the cumulative total may not fall below the operator\'s own finalized one (TotalDecreased)', async () => {
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('100')]])));
  await t.increaseTime(WINDOW);
  await expectRevert(post(treeOf([[addr(PAYEE_A), parseEther('90')]])), 'AttributionSettlementTotalDecreased', [parseEther('100'), parseEther('90')]);
  // Equal is fine (an epoch with no new earnings).
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('100')]])));
  // Another operator's totals start from its own zero: a smaller total is no decrease for it.
  await stake(SECOND_OPERATOR, MIN_STAKE);
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]]), { operator: SECOND_OPERATOR }));
  await t.increaseTime(WINDOW);
  await expectRevert(post(treeOf([[addr(PAYEE_A), parseEther('9')]]), { operator: SECOND_OPERATOR }), 'AttributionSettlementTotalDecreased', [parseEther('10'), parseEther('9')]);
});

test('epoch 2 carries cumulative amounts: a payee claims only the difference', async () => {
  const tree1 = treeOf([
    [addr(PAYEE_A), parseEther('60')],
    [addr(PAYEE_B), parseEther('40')],
  ]);
  await t.mined(post(tree1));
  await t.increaseTime(WINDOW);
  await t.mined(claim(PAYEE_A, tree1, addr(PAYEE_A)));

  const tree2 = treeOf([
    [addr(PAYEE_A), parseEther('100')],
    [addr(PAYEE_B), parseEther('65')],
  ]);
  await t.mined(post(tree2));
  assert.equal((await epochOf(2n)).funded, parseEther('65'));
  // Until epoch 2 is final, epoch 1's root is the one claims are checked against.
  await t.mined(claim(PAYEE_B, tree1, addr(PAYEE_B)));
  await expectRevert(claim(PAYEE_A, tree2, addr(PAYEE_A)), 'AttributionSettlementInvalidProof');
  await t.increaseTime(WINDOW);

  await t.mined(claim(PAYEE_A, tree2, addr(PAYEE_A)));
  await t.mined(claim(PAYEE_B, tree2, addr(PAYEE_B)));
  assert.equal(await balance(addr(PAYEE_A)), parseEther('100'));
  assert.equal(await balance(addr(PAYEE_B)), parseEther('65'));
  const settlement = (await t.as(0)).attributionSettlement;
  assert.equal(await settlement.read.totalClaimed(), parseEther('165'));
  assert.equal(await settlement.read.totalFunded(), parseEther('165'));
  const l = await ledger();
  assert.equal(l.claimed, parseEther('165'));
  assert.equal(l.funded, parseEther('165'));
  // The old root's proof no longer works; claiming again has nothing.
  await expectRevert(claim(PAYEE_A, tree1, addr(PAYEE_A)), 'AttributionSettlementInvalidProof');
  await expectRevert(claim(PAYEE_A, tree2, addr(PAYEE_A)), 'AttributionSettlementNothingToClaim', [addr(PAYEE_A)]);
});

test('claims can never exceed what was funded, even from a root whose leaves overstate its total (ClaimsExceedFunding)', async () => {
  // A lying operator: leaves sum to 200 but the declared (and funded) total is 100.
  const tree = treeOf([
    [addr(PAYEE_A), parseEther('100')],
    [addr(PAYEE_B), parseEther('100')],
  ]);
  await t.mined(post(tree, { total: parseEther('100') }));
  await t.increaseTime(WINDOW);
  await t.mined(claim(PAYEE_A, tree, addr(PAYEE_A)));
  await expectRevert(claim(PAYEE_B, tree, addr(PAYEE_B)), 'AttributionSettlementClaimsExceedFunding');
  assert.equal(await balance(t.addresses.attributionSettlement), 0n);
});

test("an operator's root pays only from what that operator drew: a lying root cannot reach another operator's funds (ClaimsExceedFunding)", async () => {
  await stake(SECOND_OPERATOR, MIN_STAKE);
  // An honest operator draws and owes 100.
  const honest = treeOf([
    [addr(PAYEE_A), parseEther('60')],
    [addr(PAYEE_B), parseEther('40')],
  ]);
  await t.mined(post(honest));
  // A lying one: leaves sum to 100 but it declared (and drew) 50.
  const lying = treeOf([
    [addr(PAYEE_A), parseEther('50')],
    [addr(PAYEE_B), parseEther('50')],
  ]);
  await t.mined(post(lying, { operator: SECOND_OPERATOR, total: parseEther('50') }));
  await t.increaseTime(WINDOW);
  assert.equal(await balance(t.addresses.attributionSettlement), parseEther('150'));

  await t.mined(claim(PAYEE_A, lying, addr(PAYEE_A), SECOND_OPERATOR));
  // The contract still holds 100 of the honest operator's, but the lying root may not touch them.
  await expectRevert(claim(PAYEE_B, lying, addr(PAYEE_B), SECOND_OPERATOR), 'AttributionSettlementClaimsExceedFunding');
  const settlement = (await t.as(0)).attributionSettlement;
  assert.deepEqual([(await ledger(SECOND_OPERATOR)).claimed, (await ledger(SECOND_OPERATOR)).funded], [parseEther('50'), parseEther('50')]);

  // The honest operator's payees are paid in full, and each payee's claims are counted per operator.
  await t.mined(claim(PAYEE_A, honest, addr(PAYEE_A)));
  await t.mined(claim(PAYEE_B, honest, addr(PAYEE_B)));
  assert.equal(await settlement.read.claimed([addr(OPERATOR), addr(PAYEE_A)]), parseEther('60'));
  assert.equal(await settlement.read.claimed([addr(SECOND_OPERATOR), addr(PAYEE_A)]), parseEther('50'));
  assert.equal(await settlement.read.claimed([addr(SECOND_OPERATOR), addr(PAYEE_B)]), 0n);
  assert.equal(await balance(addr(PAYEE_A)), parseEther('110'));
  assert.equal(await balance(addr(PAYEE_B)), parseEther('40'));
  assert.equal(await settlement.read.totalClaimed(), parseEther('150'));
  assert.equal(await settlement.read.totalFunded(), parseEther('150'));
  assert.equal(await balance(t.addresses.attributionSettlement), 0n);
  // A proof of one operator's root is no proof against another's.
  await expectRevert(claim(PAYEE_B, honest, addr(PAYEE_B), SECOND_OPERATOR), 'AttributionSettlementInvalidProof');
});

test('a dispute during the window takes the bond and freezes the epoch; after the window it is ChallengeWindowClosed', async () => {
  const tree = treeOf([[addr(PAYEE_A), parseEther('10')]]);
  await t.mined(post(tree));
  const settlement = (await t.as(0)).attributionSettlement;
  const before = await balance(addr(CHALLENGER));
  const receipt = await openDispute(1n);
  const [disputed] = eventsOf(receipt, 'EpochDisputed');
  assert.deepEqual(
    [disputed?.args.epoch, disputed?.args.operator, disputed?.args.challenger, disputed?.args.evidenceHash, disputed?.args.evidenceURI],
    [1n, addr(OPERATOR), addr(CHALLENGER), keccak256(toBytes('receipt 42')), 'ipfs://evidence'],
  );
  const epoch = await epochOf(1n);
  assert.equal(epoch.status, Status.Disputed);
  assert.equal(epoch.challenger, addr(CHALLENGER));
  assert.equal(await balance(addr(CHALLENGER)), before - BOND);
  assert.equal(await balance(t.addresses.attributionSettlement), parseEther('10') + BOND);
  await expectRevert((await t.as(STRANGER)).attributionSettlement.write.dispute([addr(OPERATOR), 1n, zeroHash, '']), 'AttributionSettlementNotPending', [1n]);
  // An operator with no such epoch has nothing to dispute.
  await expectRevert((await t.as(STRANGER)).attributionSettlement.write.dispute([addr(SECOND_OPERATOR), 1n, zeroHash, '']), 'AttributionSettlementNotPending', [1n]);

  // A disputed root never finalizes on its own, however long it waits.
  await t.increaseTime(WINDOW * 3);
  await t.mined(settlement.write.finalizeEpoch([addr(OPERATOR)]));
  assert.equal((await epochOf(1n)).status, Status.Disputed);
  await expectRevert(claim(PAYEE_A, tree, addr(PAYEE_A)), 'AttributionSettlementNoFinalizedRoot');
  await expectRevert(post(treeOf([[addr(PAYEE_A), parseEther('20')]])), 'AttributionSettlementEpochPending', [1n]);

  // Rejected; then epoch 2 comes and its window runs out before anyone disputes it.
  await t.mined((await t.as(ARBITER)).attributionSettlement.write.resolveDispute([addr(OPERATOR), 1n, false]));
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('20')]])));
  await t.increaseTime(WINDOW);
  const c = await t.as(CHALLENGER);
  await t.mined(c.openToken.write.approve([t.addresses.attributionSettlement, BOND]));
  await expectRevert(c.attributionSettlement.write.dispute([addr(OPERATOR), 2n, zeroHash, '']), 'AttributionSettlementChallengeWindowClosed', [2n]);
  await expectRevert(c.attributionSettlement.write.dispute([addr(OPERATOR), 3n, zeroHash, '']), 'AttributionSettlementNotPending', [3n]);
});

test('an operator cannot dispute its own epoch (SelfDispute), but may dispute another operator\'s', async () => {
  await stake(SECOND_OPERATOR, MIN_STAKE);
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  await t.mined(post(treeOf([[addr(PAYEE_B), parseEther('5')]]), { operator: SECOND_OPERATOR }));
  const op = await t.as(OPERATOR);
  // Bond approved, so the refusal is not about the bond.
  await t.mined(op.openToken.write.approve([t.addresses.attributionSettlement, BOND]));
  await expectRevert(op.attributionSettlement.write.dispute([addr(OPERATOR), 1n, zeroHash, '']), 'AttributionSettlementSelfDispute', [addr(OPERATOR)]);
  assert.equal((await epochOf(1n)).status, Status.Pending);
  assert.equal(await (await t.as(0)).staking.read.freezes([addr(OPERATOR)]), 0n, 'its stake is not frozen');

  // It may challenge another operator's epoch like anyone else.
  const before = await balance(addr(OPERATOR));
  await t.mined(op.attributionSettlement.write.dispute([addr(SECOND_OPERATOR), 1n, zeroHash, '']));
  const e = await epochOf(1n, SECOND_OPERATOR);
  assert.equal(e.status, Status.Disputed);
  assert.equal(e.challenger, addr(OPERATOR));
  assert.equal(await balance(addr(OPERATOR)), before - BOND);
  // The dispute froze the disputed operator, not the challenger; the challenger's own epoch is untouched.
  assert.equal(await (await t.as(0)).staking.read.freezes([addr(SECOND_OPERATOR)]), 1n);
  assert.equal(await (await t.as(0)).staking.read.freezes([addr(OPERATOR)]), 0n);
  assert.equal((await epochOf(1n)).status, Status.Pending);
  // The other operator cannot answer by disputing its own epoch either.
  const second = await t.as(SECOND_OPERATOR);
  await t.mined(second.openToken.write.approve([t.addresses.attributionSettlement, BOND]));
  await expectRevert(second.attributionSettlement.write.dispute([addr(SECOND_OPERATOR), 1n, zeroHash, '']), 'AttributionSettlementSelfDispute', [addr(SECOND_OPERATOR)]);
});

test("a disputed epoch holds up only its own operator: another operator posts, finalizes and pays meanwhile", async () => {
  await stake(SECOND_OPERATOR, MIN_STAKE);
  const tree = treeOf([[addr(PAYEE_A), parseEther('10')]]);
  await t.mined(post(tree));
  await openDispute(1n);
  const other = treeOf([[addr(PAYEE_B), parseEther('7')]]);
  await t.mined(post(other, { operator: SECOND_OPERATOR }));
  await t.increaseTime(WINDOW);
  await t.mined(claim(PAYEE_B, other, addr(PAYEE_B), SECOND_OPERATOR));
  assert.equal(await balance(addr(PAYEE_B)), parseEther('7'));
  assert.equal((await ledger(SECOND_OPERATOR)).finalizedEpoch, 1n);
  await t.mined(post(treeOf([[addr(PAYEE_B), parseEther('9')]]), { operator: SECOND_OPERATOR }));
  assert.equal((await ledger(SECOND_OPERATOR)).lastEpoch, 2n);
  // The disputed operator is still held up by its own epoch.
  await expectRevert(post(treeOf([[addr(PAYEE_A), parseEther('20')]])), 'AttributionSettlementEpochPending', [1n]);
  await expectRevert(claim(PAYEE_A, tree, addr(PAYEE_A)), 'AttributionSettlementNoFinalizedRoot');
  assert.equal((await epochOf(1n)).status, Status.Disputed);
});

test('the window is half-open: a dispute one second before its end succeeds; at its end it fails and the root finalizes', async () => {
  const settlement = (await t.as(0)).attributionSettlement;
  const c = await t.as(CHALLENGER);
  const publicClient = (await t.clients(0)).publicClient;
  const op = addr(OPERATOR);
  await t.mined(c.openToken.write.approve([t.addresses.attributionSettlement, BOND * 2n]));
  // Explicit gas skips estimation, so each transaction runs in a block at exactly the set time.
  const gas = 300_000n;

  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  const postedAt1 = (await epochOf(1n)).postedAt;
  await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(postedAt1) + WINDOW - 1]);
  await t.mined(c.attributionSettlement.write.dispute([op, 1n, zeroHash, ''], { gas }));
  assert.equal((await epochOf(1n)).status, Status.Disputed);
  await t.mined((await t.as(ARBITER)).attributionSettlement.write.resolveDispute([op, 1n, false]));
  await t.increaseTime(WINDOW);

  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('20')]])));
  const postedAt2 = (await epochOf(2n)).postedAt;
  await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(postedAt2) + WINDOW]);
  const late = await publicClient.waitForTransactionReceipt({
    hash: await c.attributionSettlement.write.dispute([op, 2n, zeroHash, ''], { gas }),
  });
  assert.equal(late.status, 'reverted');
  assert.equal((await publicClient.getBlock({ blockNumber: late.blockNumber })).timestamp, postedAt2 + BigInt(WINDOW));
  assert.equal((await epochOf(2n)).status, Status.Pending);
  await expectRevert(c.attributionSettlement.write.dispute([op, 2n, zeroHash, '']), 'AttributionSettlementChallengeWindowClosed', [2n]);
  await t.mined(settlement.write.finalizeEpoch([op]));
  assert.equal((await epochOf(2n)).status, Status.Finalized);
});

test('an upheld dispute reverts the root, slashes the operator to the slash destination and returns the bond', async () => {
  const tree = treeOf([[addr(PAYEE_A), parseEther('10')]]);
  await t.mined(post(tree));
  const challengerBefore = await balance(addr(CHALLENGER));
  await openDispute(1n);
  const admin = await t.as(0);
  const destination = await admin.staking.read.slashDestination();
  assert.equal(destination, addr(0));
  const destinationBefore = await balance(destination);
  const stakingBefore = await balance(t.addresses.staking);

  const resolved = await t.mined((await t.as(ARBITER)).attributionSettlement.write.resolveDispute([addr(OPERATOR), 1n, true]));
  const [decision] = eventsOf(resolved, 'DisputeResolved');
  assert.deepEqual([decision?.args.epoch, decision?.args.operator, decision?.args.upheld, decision?.args.arbiter], [1n, addr(OPERATOR), true, addr(ARBITER)]);
  const [reverted] = eventsOf(resolved, 'EpochReverted');
  assert.deepEqual([reverted?.args.epoch, reverted?.args.operator, reverted?.args.slashed], [1n, addr(OPERATOR), SLASH]);
  const settlement = admin.attributionSettlement;
  assert.equal((await epochOf(1n)).status, Status.Reverted);
  let l = await ledger();
  assert.equal(l.pendingEpoch, 0n);
  assert.equal(l.finalizedEpoch, 0n);
  assert.equal(l.finalizedRoot, zeroHash);
  assert.equal(await operatorStake(OPERATOR), MIN_STAKE - SLASH);
  assert.equal(await balance(destination), destinationBefore + SLASH);
  assert.equal(await balance(t.addresses.staking), stakingBefore - SLASH);
  assert.equal(await balance(addr(CHALLENGER)), challengerBefore, 'bond returned');
  assert.equal(await balance(t.addresses.attributionSettlement), parseEther('10'), 'the drawn funds stay');
  assert.equal(l.funded, parseEther('10'), "on the operator's ledger");
  await expectRevert((await t.as(ARBITER)).attributionSettlement.write.resolveDispute([addr(OPERATOR), 1n, true]), 'AttributionSettlementNotDisputed', [1n]);

  // The reverted root can never be claimed, even after its window.
  await t.increaseTime(WINDOW);
  await expectRevert(claim(PAYEE_A, tree, addr(PAYEE_A)), 'AttributionSettlementNoFinalizedRoot');
  // The slashed operator is below the minimum. Another operator settles on its own ledger: it cannot
  // post on the funds the first one drew, numbers its epochs from 1 and pays from what it draws.
  await expectRevert(post(tree), 'AttributionSettlementNotOperator', [addr(OPERATOR)]);
  await stake(SECOND_OPERATOR, MIN_STAKE);
  await expectRevert(post(tree, { operator: SECOND_OPERATOR, fund: 0n }), 'AttributionSettlementRootExceedsFunding', [parseEther('10'), 0n]);
  await t.mined(post(tree, { operator: SECOND_OPERATOR }));
  assert.equal((await ledger(SECOND_OPERATOR)).lastEpoch, 1n);
  assert.equal((await ledger()).lastEpoch, 1n);
  await t.increaseTime(WINDOW);
  await t.mined(claim(PAYEE_A, tree, addr(PAYEE_A), SECOND_OPERATOR));
  assert.equal(await balance(addr(PAYEE_A)), parseEther('10'));
  l = await ledger();
  assert.deepEqual([l.funded, l.claimed], [parseEther('10'), 0n], "the first operator's funds were not touched");
  assert.equal(await balance(t.addresses.attributionSettlement), parseEther('10'));
  assert.equal(await settlement.read.totalFunded(), parseEther('20'));
});

test('the slash is capped at the stake, unbonding stake included', async () => {
  await t.mined((await t.as(0)).attributionSettlement.write.setOperatorSlashAmount([parseEther('5000')]));
  await stake(OPERATOR, parseEther('200'));
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  // The operator tries to walk away with its stake right after posting.
  await t.mined((await t.as(OPERATOR)).staking.write.requestUnbond([OPERATOR_ROLE, 0n, parseEther('1200')]));
  await openDispute(1n);
  const destinationBefore = await balance(addr(0));
  await t.mined((await t.as(ARBITER)).attributionSettlement.write.resolveDispute([addr(OPERATOR), 1n, true]));
  assert.equal(await operatorStake(OPERATOR), 0n);
  assert.equal(await balance(addr(0)), destinationBefore + parseEther('1200'));
  assert.equal((await epochOf(1n)).status, Status.Reverted);
});

test('a rejected dispute pays the bond to the operator; the epoch finalizes once its original window has passed', async () => {
  const tree = treeOf([[addr(PAYEE_A), parseEther('10')]]);
  await t.mined(post(tree));
  const postedAt = (await epochOf(1n)).postedAt;
  const challengerBefore = await balance(addr(CHALLENGER));
  await openDispute(1n);
  await t.increaseTime(WINDOW / 4);
  const operatorBefore = await balance(addr(OPERATOR));
  const resolved = await t.mined((await t.as(ARBITER)).attributionSettlement.write.resolveDispute([addr(OPERATOR), 1n, false]));
  const [decision] = eventsOf(resolved, 'DisputeResolved');
  assert.deepEqual([decision?.args.epoch, decision?.args.operator, decision?.args.upheld], [1n, addr(OPERATOR), false]);
  const settlement = (await t.as(0)).attributionSettlement;
  assert.equal((await epochOf(1n)).status, Status.Pending);
  assert.equal(await balance(addr(OPERATOR)), operatorBefore + BOND);
  assert.equal(await balance(addr(CHALLENGER)), challengerBefore - BOND);
  assert.equal(await operatorStake(OPERATOR), MIN_STAKE, 'no slash');
  assert.equal(await balance(t.addresses.attributionSettlement), parseEther('10'));

  await t.mined(settlement.write.finalizeEpoch([addr(OPERATOR)]));
  assert.equal((await epochOf(1n)).status, Status.Pending, 'not before the window ends');
  await expectRevert(claim(PAYEE_A, tree, addr(PAYEE_A)), 'AttributionSettlementNoFinalizedRoot');
  await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(postedAt) + WINDOW]);
  await callJsonRpc(t.anvil.url, 'evm_mine');
  await t.mined(settlement.write.finalizeEpoch([addr(OPERATOR)]));
  assert.equal((await epochOf(1n)).status, Status.Finalized);
  await t.mined(claim(PAYEE_A, tree, addr(PAYEE_A)));
  assert.equal(await balance(addr(PAYEE_A)), parseEther('10'));
});

test('only an arbiter can resolve a dispute (AccessControlUnauthorizedAccount)', async () => {
  await stake(SECOND_OPERATOR, MIN_STAKE);
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]]), { operator: SECOND_OPERATOR }));
  await openDispute(1n);
  const arbiterRole = await (await t.as(0)).attributionSettlement.read.ARBITER_ROLE();
  for (const caller of [0, OPERATOR, CHALLENGER]) {
    await expectRevert(
      (await t.as(caller)).attributionSettlement.write.resolveDispute([addr(OPERATOR), 1n, true]),
      'AccessControlUnauthorizedAccount',
      [addr(caller), arbiterRole],
    );
  }
  const arbiter = (await t.as(ARBITER)).attributionSettlement;
  await expectRevert(arbiter.write.resolveDispute([addr(OPERATOR), 2n, true]), 'AttributionSettlementNotDisputed', [2n]);
  // Disputes are per operator: the second operator's epoch 1 is not the disputed one.
  await expectRevert(arbiter.write.resolveDispute([addr(SECOND_OPERATOR), 1n, true]), 'AttributionSettlementNotDisputed', [1n]);
  assert.equal((await epochOf(1n)).status, Status.Disputed);
  assert.equal((await epochOf(1n, SECOND_OPERATOR)).status, Status.Pending);
});

/** The operator's epoch 1 final with A=100, B=50; its epoch 2 pending with A=40 (a decrease), B=200. */
async function decreasingEpochs(operator: number = OPERATOR) {
  const tree1 = treeOf([
    [addr(PAYEE_A), parseEther('100')],
    [addr(PAYEE_B), parseEther('50')],
  ]);
  await t.mined(post(tree1, { operator }));
  await t.increaseTime(WINDOW);
  const tree2 = treeOf([
    [addr(PAYEE_A), parseEther('40')],
    [addr(PAYEE_B), parseEther('200')],
  ]);
  await t.mined(post(tree2, { operator }));
  return { tree1, tree2 };
}

test('proveDecrease with two real proofs reverts the root and slashes at once', async () => {
  const { tree1, tree2 } = await decreasingEpochs();
  const A = addr(PAYEE_A);
  const op = addr(OPERATOR);
  const destinationBefore = await balance(addr(0));
  const stranger = (await t.as(STRANGER)).attributionSettlement;
  const receipt = await t.mined(stranger.write.proveDecrease([op, 2n, A, parseEther('100'), proofOf(tree1, A), parseEther('40'), proofOf(tree2, A)]));
  const [reverted] = eventsOf(receipt, 'EpochReverted');
  assert.deepEqual([reverted?.args.epoch, reverted?.args.operator, reverted?.args.slashed], [2n, op, SLASH]);

  assert.equal((await epochOf(2n)).status, Status.Reverted);
  const l = await ledger();
  assert.equal(l.pendingEpoch, 0n);
  assert.equal(l.finalizedEpoch, 1n);
  assert.equal(l.finalizedRoot, tree1.root);
  assert.equal(await operatorStake(OPERATOR), MIN_STAKE - SLASH);
  assert.equal(await balance(addr(0)), destinationBefore + SLASH);
  // Payees keep claiming against epoch 1.
  await t.increaseTime(WINDOW);
  await t.mined(claim(PAYEE_A, tree1, A));
  assert.equal(await balance(A), parseEther('100'));
  await expectRevert(
    stranger.write.proveDecrease([op, 2n, A, parseEther('100'), proofOf(tree1, A), parseEther('40'), proofOf(tree2, A)]),
    'AttributionSettlementNotPending',
    [2n],
  );
});

test('proveDecrease on a disputed epoch returns the challenger its bond', async () => {
  const { tree1, tree2 } = await decreasingEpochs();
  const challengerBefore = await balance(addr(CHALLENGER));
  await openDispute(2n);
  const A = addr(PAYEE_A);
  await t.mined(
    (await t.as(STRANGER)).attributionSettlement.write.proveDecrease([addr(OPERATOR), 2n, A, parseEther('100'), proofOf(tree1, A), parseEther('40'), proofOf(tree2, A)]),
  );
  assert.equal((await epochOf(2n)).status, Status.Reverted);
  assert.equal(await balance(addr(CHALLENGER)), challengerBefore);
  assert.equal(await operatorStake(OPERATOR), MIN_STAKE - SLASH);
  assert.equal(await (await t.as(0)).staking.read.freezes([addr(OPERATOR)]), 0n, 'unfrozen');
});

test('proveDecrease rejects a non-decrease (NotADecrease), bad proofs (InvalidProof) and a closed window', async () => {
  const { tree1, tree2 } = await decreasingEpochs();
  const settlement = (await t.as(STRANGER)).attributionSettlement;
  const op = addr(OPERATOR);
  const A = addr(PAYEE_A);
  const B = addr(PAYEE_B);
  await expectRevert(
    settlement.write.proveDecrease([op, 2n, B, parseEther('50'), proofOf(tree1, B), parseEther('200'), proofOf(tree2, B)]),
    'AttributionSettlementNotADecrease',
    [parseEther('50'), parseEther('200')],
  );
  // Claimed amounts that are not in the roots.
  await expectRevert(
    settlement.write.proveDecrease([op, 2n, A, parseEther('101'), proofOf(tree1, A), parseEther('40'), proofOf(tree2, A)]),
    'AttributionSettlementInvalidProof',
  );
  await expectRevert(
    settlement.write.proveDecrease([op, 2n, A, parseEther('100'), proofOf(tree1, A), parseEther('39'), proofOf(tree2, A)]),
    'AttributionSettlementInvalidProof',
  );
  // Proofs swapped between the roots.
  await expectRevert(
    settlement.write.proveDecrease([op, 2n, A, parseEther('100'), proofOf(tree2, A), parseEther('40'), proofOf(tree1, A)]),
    'AttributionSettlementInvalidProof',
  );
  await expectRevert(
    settlement.write.proveDecrease([op, 3n, A, parseEther('100'), proofOf(tree1, A), parseEther('40'), proofOf(tree2, A)]),
    'AttributionSettlementNotPending',
    [3n],
  );
  // Another operator (with no epoch 2) has nothing pending to prove against.
  await expectRevert(
    settlement.write.proveDecrease([addr(SECOND_OPERATOR), 2n, A, parseEther('100'), proofOf(tree1, A), parseEther('40'), proofOf(tree2, A)]),
    'AttributionSettlementNotPending',
    [2n],
  );
  await t.increaseTime(WINDOW);
  await expectRevert(
    settlement.write.proveDecrease([op, 2n, A, parseEther('100'), proofOf(tree1, A), parseEther('40'), proofOf(tree2, A)]),
    'AttributionSettlementChallengeWindowClosed',
    [2n],
  );
  assert.equal(await operatorStake(OPERATOR), MIN_STAKE);
});

test("proveDecrease compares an operator's root with that operator's last final root only (InvalidProof against another's)", async () => {
  await stake(SECOND_OPERATOR, MIN_STAKE);
  // The second operator's final root gives A 100.
  const { tree1: otherFinal, tree2: otherPending } = await decreasingEpochs(SECOND_OPERATOR);
  // The first operator's first epoch gives A 40: less than the other operator's, but no decrease of its own.
  const mine = treeOf([
    [addr(PAYEE_A), parseEther('40')],
    [addr(PAYEE_B), parseEther('10')],
  ]);
  await t.mined(post(mine));
  const A = addr(PAYEE_A);
  const settlement = (await t.as(STRANGER)).attributionSettlement;
  await expectRevert(
    settlement.write.proveDecrease([addr(OPERATOR), 1n, A, parseEther('100'), proofOf(otherFinal, A), parseEther('40'), proofOf(mine, A)]),
    'AttributionSettlementInvalidProof',
  );
  assert.equal((await epochOf(1n)).status, Status.Pending);
  assert.equal(await operatorStake(OPERATOR), MIN_STAKE);
  // The second operator's own decrease is provable against its own final root, and slashes it alone.
  await t.mined(
    settlement.write.proveDecrease([addr(SECOND_OPERATOR), 2n, A, parseEther('100'), proofOf(otherFinal, A), parseEther('40'), proofOf(otherPending, A)]),
  );
  assert.equal((await epochOf(2n, SECOND_OPERATOR)).status, Status.Reverted);
  assert.equal(await operatorStake(SECOND_OPERATOR), MIN_STAKE - SLASH);
  assert.equal(await operatorStake(OPERATOR), MIN_STAKE);
  assert.equal((await epochOf(1n)).status, Status.Pending);
});

test('the fee split must sum to 10,000 bps (AttributionSettlementInvalidFeeSplit); other parameters are range-checked, each with its own error', async () => {
  const settlement = (await t.as(0)).attributionSettlement;
  const split = (m: number, d: number, c: number, s: number) => ({ modelOwnerBps: m, datanetOwnersBps: d, contributorsBps: c, stakersBps: s });
  await expectRevert(settlement.write.setFeeSplit([split(3000, 1000, 5000, 999)]), 'AttributionSettlementInvalidFeeSplit', [3000, 1000, 5000, 999]);
  await expectRevert(settlement.write.setFeeSplit([split(3000, 1000, 5000, 1001)]), 'AttributionSettlementInvalidFeeSplit');
  await expectRevert(settlement.write.setFeeSplit([split(65535, 65535, 0, 0)]), 'AttributionSettlementInvalidFeeSplit');
  await expectRevert(settlement.write.setFeeSplit([split(0, 0, 0, 0)]), 'AttributionSettlementInvalidFeeSplit');
  await t.mined(settlement.write.setFeeSplit([split(2500, 2500, 4000, 1000)]));
  assert.deepEqual(await settlement.read.feeSplit(), [2500, 2500, 4000, 1000]);
  await t.mined(settlement.write.setFeeSplit([split(0, 0, 10000, 0)]));
  assert.deepEqual(await settlement.read.feeSplit(), [0, 0, 10000, 0]);

  await expectRevert(settlement.write.setAttributionThreshold([1_000_001]), 'AttributionSettlementInvalidAttributionThreshold', [1_000_001]);
  await t.mined(settlement.write.setAttributionThreshold([1_000_000]));
  assert.equal(await settlement.read.attributionThresholdPpm(), 1_000_000);
  assert.equal(await settlement.read.evidenceThresholdPpm(), await settlement.read.DEFAULT_EVIDENCE_THRESHOLD_PPM());
  await expectRevert(settlement.write.setEvidenceThreshold([1_000_001]), 'AttributionSettlementInvalidEvidenceThreshold', [1_000_001]);
  await t.mined(settlement.write.setEvidenceThreshold([250_000]));
  assert.equal(await settlement.read.evidenceThresholdPpm(), 250_000);
  await expectRevert(settlement.write.setSpanWeight([10_001]), 'AttributionSettlementInvalidSpanWeight', [10_001]);
  await t.mined(settlement.write.setSpanWeight([7_000]));
  assert.equal(await settlement.read.spanWeightBps(), 7_000);
  await expectRevert(settlement.write.setChallengeWindow([0n]), 'AttributionSettlementInvalidChallengeWindow', [0n]);
  await t.mined(settlement.write.setChallengeWindow([7200n]));
  assert.equal(await settlement.read.challengeWindow(), 7200n);
  await expectRevert(settlement.write.setDisputeTimeout([0n]), 'AttributionSettlementInvalidDisputeTimeout', [0n]);
  await t.mined(settlement.write.setDisputeTimeout([7200n]));
  assert.equal(await settlement.read.disputeTimeout(), 7200n);
  await t.mined(settlement.write.setDisputeBond([parseEther('1')]));
  assert.equal(await settlement.read.disputeBond(), parseEther('1'));
  await t.mined(settlement.write.setOperatorSlashAmount([parseEther('2')]));
  assert.equal(await settlement.read.operatorSlashAmount(), parseEther('2'));
});

test('every setter is governance only (AccessControlUnauthorizedAccount)', async () => {
  const s = (await t.as(OPERATOR)).attributionSettlement;
  const calls: Array<() => Promise<Hex>> = [
    () => s.write.setFeeSplit([{ modelOwnerBps: 2500, datanetOwnersBps: 2500, contributorsBps: 4000, stakersBps: 1000 }]),
    () => s.write.setAttributionThreshold([1]),
    () => s.write.setEvidenceThreshold([1]),
    () => s.write.setSpanWeight([1]),
    () => s.write.setChallengeWindow([1n]),
    () => s.write.setDisputeBond([0n]),
    () => s.write.setOperatorSlashAmount([0n]),
    () => s.write.setDisputeTimeout([1n]),
    () => s.write.grantRole([keccak256(toBytes('ARBITER_ROLE')), addr(OPERATOR)]),
  ];
  for (const call of calls) await expectRevert(call(), 'AccessControlUnauthorizedAccount', [addr(OPERATOR), zeroHash]);
  assert.equal(await s.read.disputeBond(), BOND);
  assert.equal(await s.read.operatorSlashAmount(), SLASH);
  assert.equal(await s.read.challengeWindow(), BigInt(WINDOW));
});

test("fund draws authorised spend into the caller's ledger without posting, also while an epoch is disputed", async () => {
  const settlement = (await t.as(OPERATOR)).attributionSettlement;
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  await openDispute(1n);
  const signed = await nextAuth(OPERATOR, parseEther('3'));
  // the authorization raises the consumer's cap by 3 OPEN over what was drawn before
  const cap = signed.auth.cumulativeAmount, drawnBefore = cap - parseEther('3');
  const draw = (drawTo: bigint) => [{ auth: signed.auth, signature: signed.signature, drawTo }];
  await expectRevert((await t.as(STRANGER)).attributionSettlement.write.fund([draw(cap)]), 'AttributionSettlementNotOperator', [addr(STRANGER)]);
  const before = await settlement.read.totalFunded();
  const ledgerBefore = (await ledger()).funded;
  // a standing authorization is drawn as usage is metered: part now, more later, never beyond it
  const receipt = await t.mined(settlement.write.fund([draw(drawnBefore + parseEther('1'))]));
  const [funded] = eventsOf(receipt, 'Funded');
  assert.deepEqual([funded?.args.operator, funded?.args.amount], [addr(OPERATOR), parseEther('1')]);
  await t.mined(settlement.write.fund([draw(cap)]));
  assert.equal(await settlement.read.totalFunded(), before + parseEther('3'));
  assert.equal((await ledger()).funded, ledgerBefore + parseEther('3'), "credited to the caller's ledger");
  assert.equal((await ledger(SECOND_OPERATOR)).funded, 0n);
  await expectRevert(settlement.write.fund([draw(cap)]), 'InferenceEscrowAuthorizationReplayed', [signed.auth.nonce, signed.auth.nonce]);
  await expectRevert(settlement.write.fund([draw(cap + 1n)]), 'InferenceEscrowDrawExceedsAuthorization', [cap + 1n, cap]);
  // An authorization for this operator cannot be drawn into another operator's ledger.
  await stake(SECOND_OPERATOR, MIN_STAKE);
  const fresh = await nextAuth(OPERATOR, parseEther('1'));
  await expectRevert(
    (await t.as(SECOND_OPERATOR)).attributionSettlement.write.fund([[{ auth: fresh.auth, signature: fresh.signature, drawTo: fresh.auth.cumulativeAmount }]]),
    'InferenceEscrowWrongOperator',
    [addr(OPERATOR), addr(SECOND_OPERATOR)],
  );
});

test("a dispute freezes the operator's stake until it is decided (StakeFrozen)", async () => {
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  const op = await t.as(OPERATOR);
  await t.mined(op.staking.write.requestUnbond([OPERATOR_ROLE, 0n, MIN_STAKE]));
  await openDispute(1n);
  await t.increaseTime(t.params.unbondingDelay);
  await expectRevert(op.staking.write.withdraw([OPERATOR_ROLE, 0n]), 'StakingFrozen', [addr(OPERATOR)]);
  await t.mined((await t.as(ARBITER)).attributionSettlement.write.resolveDispute([addr(OPERATOR), 1n, false]));
  await t.mined(op.staking.write.withdraw([OPERATOR_ROLE, 0n]));
  assert.equal(await operatorStake(OPERATOR), 0n);
});

test('an undecided dispute expires after the timeout: root dropped unslashed, bond to the slash destination (not the operator), settlement moves on', async () => {
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  const challengerBefore = await balance(addr(CHALLENGER));
  await openDispute(1n);
  const e = await epochOf(1n);
  const expiresAt = e.challengeEndsAt + t.params.disputeTimeout;
  const anyone = (await t.as(STRANGER)).attributionSettlement;
  await expectRevert(anyone.write.expireDispute([addr(OPERATOR), 1n]), 'AttributionSettlementDisputeNotExpired', [1n, expiresAt]);
  await t.increaseTime(BigInt(WINDOW) + t.params.disputeTimeout);
  const destination = await (await t.as(0)).staking.read.slashDestination();
  assert.equal(destination, addr(0));
  const destinationBefore = await balance(destination);
  const operatorBefore = await balance(addr(OPERATOR));
  const stakeBefore = await operatorStake(OPERATOR);
  // Another operator has no such disputed epoch.
  await expectRevert(anyone.write.expireDispute([addr(SECOND_OPERATOR), 1n]), 'AttributionSettlementNotDisputed', [1n]);
  const receipt = await t.mined(anyone.write.expireDispute([addr(OPERATOR), 1n]));
  const [expired] = eventsOf(receipt, 'DisputeExpired');
  assert.deepEqual([expired?.args.epoch, expired?.args.operator], [1n, addr(OPERATOR)]);
  const [reverted] = eventsOf(receipt, 'EpochReverted');
  assert.deepEqual([reverted?.args.epoch, reverted?.args.operator, reverted?.args.slashed], [1n, addr(OPERATOR), 0n]);
  assert.equal((await epochOf(1n)).status, Status.Reverted);
  assert.equal((await ledger()).pendingEpoch, 0n);
  assert.equal(await operatorStake(OPERATOR), stakeBefore, 'not slashed');
  assert.equal(await balance(destination), destinationBefore + BOND, 'the bond goes to the slash destination');
  assert.equal(await balance(addr(OPERATOR)), operatorBefore, 'not to the operator');
  assert.equal(await balance(addr(CHALLENGER)), challengerBefore - BOND, 'the challenger loses its bond');
  assert.equal(await balance(t.addresses.attributionSettlement), parseEther('10'), 'only the drawn funds stay');
  assert.equal(await (await t.as(0)).staking.read.freezes([addr(OPERATOR)]), 0n);
  await expectRevert(anyone.write.expireDispute([addr(OPERATOR), 1n]), 'AttributionSettlementNotDisputed', [1n]);
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]]), { epoch: 2n }));
});

test("a new challenge window applies to later epochs, not to one already posted", async () => {
  await t.mined(post(treeOf([[addr(PAYEE_A), parseEther('10')]])));
  const admin = (await t.as(0)).attributionSettlement;
  const posted = await epochOf(1n);
  await t.mined(admin.write.setChallengeWindow([10_000n]));
  assert.equal((await epochOf(1n)).challengeEndsAt, posted.challengeEndsAt);
  await t.increaseTime(WINDOW);
  await t.mined(admin.write.finalizeEpoch([addr(OPERATOR)]));
  assert.equal((await epochOf(1n)).status, Status.Finalized);
});

test('only the settlement (SLASHER_ROLE) freezes and unfreezes stakes', async () => {
  const staking = (await t.as(STRANGER)).staking;
  const role = await staking.read.SLASHER_ROLE();
  await expectRevert(staking.write.freeze([addr(OPERATOR)]), 'AccessControlUnauthorizedAccount', [addr(STRANGER), role]);
  await expectRevert(staking.write.unfreeze([addr(OPERATOR)]), 'AccessControlUnauthorizedAccount', [addr(STRANGER), role]);
});
