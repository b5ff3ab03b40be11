import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import fc from 'fast-check';
import { keccak256, maxUint256, parseEther, toBytes, zeroHash, type Address, type Hex } from 'viem';
import { callJsonRpc } from './json-rpc.ts';
import { signSpendAuthorization, type SpendAuthorization } from './spend-authorization.ts';
import { expectRevert, startTestProtocol, testProtocolParams, type TestProtocol } from './test-chain.ts';

/*
 * Model-based property test of settlement between operators that do not trust each other (issue
 * 16, item 1): three staked operators draw consumers' authorisations and post roots on their own
 * ledgers — honest roots, greedy roots paying an attacker everything drawn by anyone, overstated
 * totals, roots that lower a payee — while a challenger disputes, the operators try to dispute
 * themselves, an arbiter upholds or rejects, disputes expire, payees claim from each operator and
 * time passes, in random interleavings. A model predicts each call's outcome (success or the exact
 * custom error) and after every step the chain must agree with it and keep the invariants: no
 * operator's claims exceed what it drew; what an operator drew is what consumers authorised to it;
 * the settlement contract holds exactly the unclaimed funds plus the bonds in dispute; a payee
 * received exactly its claims, each within the operator's final root; supply is conserved.
 * Steps: RUNS × STEPS (CI 20 × 500 = 10,000; SETTLEMENT_PROPERTY_RUNS raises the runs).
 */

// Accounts: 0 treasury/admin/slash destination, 1-3 operators, 4-5 consumers, 6 the attacker's payee and 7 an honest payee, 8 a challenger, 9 the arbiter.
const OPERATORS = [1, 2, 3] as const;
const CONSUMERS = [4, 5] as const;
const PAYEES = [6, 7] as const;
const CHALLENGER = 8;
const ARBITER = 9;
const PARAMS = testProtocolParams('0x0000000000000000000000000000000000000001');
const WINDOW = PARAMS.challengeWindow;
const TIMEOUT = PARAMS.disputeTimeout;
const BOND = PARAMS.disputeBond;
const SLASH = PARAMS.operatorSlashAmount;
const MIN_STAKE = PARAMS.minimumOperatorStake;
const OPERATOR_STAKE = parseEther('2000');
const DEPOSIT = parseEther('1000');
const CHALLENGER_FUNDS = parseEther('100000');
const RUNS = Number(process.env.SETTLEMENT_PROPERTY_RUNS ?? 20);
const STEPS = Number(process.env.SETTLEMENT_PROPERTY_STEPS ?? 500);

const Status = { Pending: 1, Disputed: 2, Finalized: 3, Reverted: 4 } as const;
type Leaf = [Address, bigint];
type Tree = StandardMerkleTree<Leaf>;

type Action =
  | { kind: 'use'; consumer: number; operator: number; amount: bigint }
  | { kind: 'post'; operator: number; root: 'honest' | 'greedy' | 'overstated' | 'lowering'; weights: number[] }
  | { kind: 'dispute'; operator: number; self: boolean }
  | { kind: 'resolve'; operator: number; upheld: boolean }
  | { kind: 'expire'; operator: number }
  | { kind: 'proveDecrease'; operator: number; payee: number }
  | { kind: 'claim'; operator: number; payee: number }
  | { kind: 'advance'; seconds: number };

const op = fc.integer({ min: 0, max: OPERATORS.length - 1 });
const payeeArb = fc.integer({ min: 0, max: PAYEES.length - 1 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('use' as const), consumer: fc.integer({ min: 0, max: CONSUMERS.length - 1 }), operator: op, amount: fc.bigInt(1n, parseEther('30')) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('post' as const), operator: op,
      root: fc.constantFrom('honest' as const, 'honest' as const, 'greedy' as const, 'overstated' as const, 'lowering' as const),
      weights: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dispute' as const), operator: op, self: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resolve' as const), operator: op, upheld: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), operator: op }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('proveDecrease' as const), operator: op, payee: payeeArb }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('claim' as const), operator: op, payee: payeeArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.constantFrom(1, 30, 99, 100, 101, 400, 1000, 1101) }) },
);

interface EpochModel {
  tree: Tree;
  amounts: bigint[];
  total: bigint;
  postedAt: bigint;
  status: number;
  bond: bigint;
}

interface OperatorModel {
  stake: bigint;
  lastEpoch: bigint;
  pendingEpoch: bigint;
  finalizedEpoch: bigint;
  funded: bigint;
  claimed: bigint;
  epochs: Map<bigint, EpochModel>;
  /** Per consumer: cumulative drawn, last nonce drawn, highest cumulative signed, the next nonce, the latest signature. */
  consumers: Array<{ drawn: bigint; lastNonce: bigint; signed: bigint; nextNonce: bigint; latest?: { auth: SpendAuthorization; signature: Hex } }>;
  /** Per payee: claimed from this operator. */
  paid: bigint[];
}

interface Model {
  operators: OperatorModel[];
  deposits: bigint[];
  /** OPEN the treasury received (slashes, expired bonds). */
  treasuryIn: bigint;
  challengerSpent: bigint;
}

const freshModel = (): Model => ({
  operators: OPERATORS.map(() => ({
    stake: OPERATOR_STAKE, lastEpoch: 0n, pendingEpoch: 0n, finalizedEpoch: 0n, funded: 0n, claimed: 0n, epochs: new Map(),
    consumers: CONSUMERS.map(() => ({ drawn: 0n, lastNonce: 0n, signed: 0n, nextNonce: 1n })), paid: PAYEES.map(() => 0n),
  })),
  deposits: CONSUMERS.map(() => DEPOSIT),
  treasuryIn: 0n,
  challengerSpent: 0n,
});

let t: TestProtocol;
let restore: () => Promise<void>;
let supply: bigint;
let treasuryStart: bigint;
const stats = new Map<string, number>();
const count = (what: string) => stats.set(what, (stats.get(what) ?? 0) + 1);
const addr = (i: number): Address => t.accounts[i]!.address;

/**
 * Finalizes `o`'s pending epoch in the model if a transaction at `ts` would; returns what undoes
 * it, for a transaction that reverts (its finalization reverts with it).
 */
function settle(o: OperatorModel, ts: bigint): () => void {
  const epoch = o.pendingEpoch, previous = o.finalizedEpoch;
  const e = o.epochs.get(epoch);
  if (epoch === 0n || !e || e.status !== Status.Pending || ts < e.postedAt + WINDOW) return () => {};
  e.status = Status.Finalized;
  o.finalizedEpoch = epoch;
  o.pendingEpoch = 0n;
  return () => {
    e.status = Status.Pending;
    o.finalizedEpoch = previous;
    o.pendingEpoch = epoch;
  };
}

function finalAmounts(o: OperatorModel): bigint[] {
  return o.epochs.get(o.finalizedEpoch)?.amounts ?? PAYEES.map(() => 0n);
}

function treeOf(amounts: bigint[]): Tree {
  return StandardMerkleTree.of(amounts.map((a, i): Leaf => [addr(PAYEES[i]!), a]), ['address', 'uint256']);
}

/** The operator is slashed (min of the slash amount and its stake). */
function slash(m: Model, o: OperatorModel): void {
  const amount = SLASH < o.stake ? SLASH : o.stake;
  o.stake -= amount;
  m.treasuryIn += amount;
}

async function step(m: Model, action: Action): Promise<void> {
  // every block is one second after the last: the next transaction runs at latest + 1
  const ts = (await (await t.clients(0)).publicClient.getBlock()).timestamp + 1n;
  const o = 'operator' in action ? m.operators[action.operator]! : undefined;
  const operator = 'operator' in action ? addr(OPERATORS[action.operator]!) : undefined;
  switch (action.kind) {
    case 'use': {
      const c = o!.consumers[action.consumer]!;
      const auth: SpendAuthorization = { consumer: addr(CONSUMERS[action.consumer]!), operator: operator!, cumulativeAmount: c.signed + action.amount, nonce: c.nextNonce, expiry: ts + 10_000_000n };
      c.latest = { auth, signature: await signSpendAuthorization(t.accounts[CONSUMERS[action.consumer]!]!, { chainId: 31337, escrow: t.addresses.inferenceEscrow }, auth) };
      c.signed = auth.cumulativeAmount;
      c.nextNonce += 1n;
      count('use');
      return;
    }
    case 'post': {
      const s = (await t.as(OPERATORS[action.operator]!)).attributionSettlement;
      const undo = settle(o!, ts);
      // a careful operator draws each consumer's newest authorisation to it that the deposit covers
      const draws: Array<{ k: number; to: bigint }> = [];
      const deposits = [...m.deposits];
      o!.consumers.forEach((c, k) => {
        if (!c.latest || c.latest.auth.nonce <= c.lastNonce) return;
        const more = c.latest.auth.cumulativeAmount - c.drawn;
        if (more > deposits[k]!) return;
        deposits[k]! -= more;
        draws.push({ k, to: c.latest.auth.cumulativeAmount });
      });
      const drawn = draws.reduce((x, d) => x + d.to - o!.consumers[d.k]!.drawn, 0n);
      const funded = o!.funded + drawn;
      const final = finalAmounts(o!);
      const finalTotal = o!.epochs.get(o!.finalizedEpoch)?.total ?? 0n;
      // the roots an operator may post: honest (its own funds to its payees), greedy (the attacker's
      // payee gets everything every operator drew), overstated (a total above its leaves) and lowering
      const totalFunded = m.operators.reduce((x, p) => x + p.funded, 0n) + drawn;
      const extra = funded - final.reduce((x, a) => x + a, 0n);
      const weights = action.weights.some((w) => w > 0) ? action.weights : [1, 0];
      const wsum = BigInt(weights.reduce((x, w) => x + w, 0));
      let amounts = final.map((a, i) => a + (extra > 0n ? (extra * BigInt(weights[i]!)) / wsum : 0n));
      if (action.root === 'greedy') amounts = [totalFunded, final[1]!];
      if (action.root === 'lowering') amounts = [final[0]! + extra + final[1]!, 0n];
      const sum = amounts.reduce((x, a) => x + a, 0n);
      const total = action.root === 'overstated' ? sum + 1n : sum;
      const tree = treeOf(amounts);
      const epoch = o!.lastEpoch + 1n;
      let expected: [string, unknown[]] | undefined;
      if (o!.stake < MIN_STAKE) expected = ['AttributionSettlementNotOperator', [operator]];
      else if (o!.pendingEpoch !== 0n) expected = ['AttributionSettlementEpochPending', [o!.pendingEpoch]];
      else if (total < finalTotal) expected = ['AttributionSettlementTotalDecreased', [finalTotal, total]];
      else if (total > funded) expected = ['AttributionSettlementRootExceedsFunding', [total, funded]];
      const send = s.write.postEpoch([epoch, tree.root as Hex, total, keccak256(toBytes(`inputs ${epoch}`)), '',
        draws.map((d) => ({ auth: o!.consumers[d.k]!.latest!.auth, signature: o!.consumers[d.k]!.latest!.signature, drawTo: d.to }))]);
      if (expected) {
        await expectRevert(send, ...expected);
        undo();
        count(`post ${action.root}: ${expected[0]}`);
        return;
      }
      await t.mined(send);
      for (const d of draws) {
        const c = o!.consumers[d.k]!;
        m.deposits[d.k]! -= d.to - c.drawn;
        c.drawn = d.to;
        c.lastNonce = c.latest!.auth.nonce;
      }
      o!.funded = funded;
      o!.lastEpoch = epoch;
      o!.pendingEpoch = epoch;
      o!.epochs.set(epoch, { tree, amounts, total, postedAt: ts, status: Status.Pending, bond: 0n });
      count(`post ${action.root}: posted`);
      return;
    }
    case 'dispute': {
      const caller = action.self ? OPERATORS[action.operator]! : CHALLENGER;
      const s = (await t.as(caller)).attributionSettlement;
      const epoch = o!.pendingEpoch !== 0n ? o!.pendingEpoch : o!.lastEpoch;
      const e = o!.epochs.get(epoch);
      const send = s.write.dispute([operator!, epoch, zeroHash, '']);
      let expected: [string, unknown[]] | undefined;
      if (action.self) expected = ['AttributionSettlementSelfDispute', [operator]];
      else if (!e || e.status !== Status.Pending || epoch !== o!.pendingEpoch) expected = ['AttributionSettlementNotPending', [epoch]];
      else if (ts >= e.postedAt + WINDOW) expected = ['AttributionSettlementChallengeWindowClosed', [epoch]];
      if (expected) {
        await expectRevert(send, ...expected);
        count(`dispute: ${expected[0]}`);
        return;
      }
      await t.mined(send);
      e!.status = Status.Disputed;
      e!.bond = BOND;
      m.challengerSpent += BOND;
      count('dispute: disputed');
      return;
    }
    case 'resolve': {
      const s = (await t.as(ARBITER)).attributionSettlement;
      const epoch = o!.pendingEpoch;
      const e = o!.epochs.get(epoch);
      const send = s.write.resolveDispute([operator!, epoch, action.upheld]);
      if (!e || e.status !== Status.Disputed) {
        await expectRevert(send, 'AttributionSettlementNotDisputed', [epoch]);
        count('resolve: NotDisputed');
        return;
      }
      await t.mined(send);
      if (action.upheld) {
        e.status = Status.Reverted;
        o!.pendingEpoch = 0n;
        slash(m, o!);
        m.challengerSpent -= e.bond;
      } else {
        e.status = Status.Pending;
      }
      e.bond = 0n;
      count(`resolve: ${action.upheld ? 'upheld' : 'rejected'}`);
      return;
    }
    case 'expire': {
      const s = (await t.as(PAYEES[0])).attributionSettlement;
      const epoch = o!.pendingEpoch;
      const e = o!.epochs.get(epoch);
      const send = s.write.expireDispute([operator!, epoch]);
      if (!e || e.status !== Status.Disputed) {
        await expectRevert(send, 'AttributionSettlementNotDisputed', [epoch]);
        count('expire: NotDisputed');
        return;
      }
      if (ts < e.postedAt + WINDOW + TIMEOUT) {
        await expectRevert(send, 'AttributionSettlementDisputeNotExpired', [epoch, e.postedAt + WINDOW + TIMEOUT]);
        count('expire: DisputeNotExpired');
        return;
      }
      await t.mined(send);
      e.status = Status.Reverted;
      o!.pendingEpoch = 0n;
      // the bond goes to the treasury: a dispute nobody decides costs its challenger
      m.treasuryIn += e.bond;
      e.bond = 0n;
      count('expire: expired');
      return;
    }
    case 'proveDecrease': {
      const s = (await t.as(CHALLENGER)).attributionSettlement;
      const epoch = o!.pendingEpoch;
      const e = o!.epochs.get(epoch);
      const final = finalAmounts(o!);
      const finalTree = o!.epochs.get(o!.finalizedEpoch)?.tree;
      if (!e || !finalTree) {
        count('proveDecrease: nothing to prove');
        return;
      }
      const p = action.payee;
      const send = s.write.proveDecrease([operator!, epoch, addr(PAYEES[p]!), final[p]!, finalTree.getProof(p) as Hex[], e.amounts[p]!, e.tree.getProof(p) as Hex[]]);
      let expected: [string, unknown[]] | undefined;
      if (e.status !== Status.Pending && e.status !== Status.Disputed) expected = ['AttributionSettlementNotPending', [epoch]];
      else if (e.status === Status.Pending && ts >= e.postedAt + WINDOW) expected = ['AttributionSettlementChallengeWindowClosed', [epoch]];
      else if (e.amounts[p]! >= final[p]!) expected = ['AttributionSettlementNotADecrease', [final[p], e.amounts[p]]];
      if (expected) {
        await expectRevert(send, ...expected);
        count(`proveDecrease: ${expected[0]}`);
        return;
      }
      await t.mined(send);
      e.status = Status.Reverted;
      o!.pendingEpoch = 0n;
      slash(m, o!);
      m.challengerSpent -= e.bond;
      e.bond = 0n;
      count('proveDecrease: reverted');
      return;
    }
    case 'claim': {
      const s = (await t.as(PAYEES[action.payee]!)).attributionSettlement;
      const undo = settle(o!, ts);
      const p = action.payee;
      const who = addr(PAYEES[p]!);
      const e = o!.epochs.get(o!.finalizedEpoch);
      if (!e) {
        await expectRevert(s.write.claim([operator!, who, 0n, []]), 'AttributionSettlementNoFinalizedRoot', [operator]);
        undo();
        count('claim: NoFinalizedRoot');
        return;
      }
      const amount = e.amounts[p]!;
      const send = s.write.claim([operator!, who, amount, e.tree.getProof(p) as Hex[]]);
      let expected: [string, unknown[]] | undefined;
      if (amount <= o!.paid[p]!) expected = ['AttributionSettlementNothingToClaim', [who]];
      else if (o!.claimed + amount - o!.paid[p]! > o!.funded) expected = ['AttributionSettlementClaimsExceedFunding', [operator, o!.claimed + amount - o!.paid[p]!, o!.funded]];
      if (expected) {
        await expectRevert(send, ...expected);
        undo();
        count(`claim: ${expected[0]}`);
        return;
      }
      await t.mined(send);
      o!.claimed += amount - o!.paid[p]!;
      o!.paid[p] = amount;
      count('claim: paid');
      return;
    }
    case 'advance': {
      await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(ts - 1n) + action.seconds]);
      await callJsonRpc(t.anvil.url, 'evm_mine');
      count('advance');
      return;
    }
  }
}

/** The invariants, read from chain (all reads at once), and the chain's agreement with the model. */
async function checkInvariants(m: Model): Promise<void> {
  const p = await t.as(0);
  const s = p.attributionSettlement.read;
  const token = p.openToken.read;
  const operators = OPERATORS.map((i) => addr(i));
  const [ledgers, drawn, claimed, positions, payeeBalances, [totalFunded, totalClaimed, held, total, treasury, challenger]] = await Promise.all([
    Promise.all(operators.map((o) => s.ledgerOf([o]))),
    Promise.all(operators.map((o) => Promise.all(CONSUMERS.map((c) => p.inferenceEscrow.read.drawn([addr(c), o]))))),
    Promise.all(operators.map((o) => Promise.all(PAYEES.map((y) => s.claimed([o, addr(y)]))))),
    Promise.all(operators.map((o) => p.staking.read.positionOf([o, 0, 0n]))),
    Promise.all(PAYEES.map((y) => token.balanceOf([addr(y)]))),
    Promise.all([s.totalFunded(), s.totalClaimed(), token.balanceOf([t.addresses.attributionSettlement]), token.totalSupply(), token.balanceOf([addr(0)]), token.balanceOf([addr(CHALLENGER)])]),
  ]);
  let bonds = 0n;
  for (const [k, l] of ledgers.entries()) {
    const o = m.operators[k]!;
    // an operator's claims never exceed what it drew, and what it drew is what consumers authorised to it
    assert.ok(l.claimed <= l.funded, `operator ${k}: claimed ${l.claimed} > funded ${l.funded}`);
    assert.equal(l.funded, drawn[k]!.reduce((x, d) => x + d, 0n), `operator ${k}: funded is what it drew`);
    drawn[k]!.forEach((d, c) => assert.ok(d <= o.consumers[c]!.signed, `operator ${k} drew more than consumer ${c} signed to it`));
    // the chain agrees with the model
    assert.deepEqual([l.lastEpoch, l.pendingEpoch, l.finalizedEpoch, l.funded, l.claimed], [o.lastEpoch, o.pendingEpoch, o.finalizedEpoch, o.funded, o.claimed], `operator ${k}'s ledger`);
    assert.equal(l.finalizedRoot, o.epochs.get(o.finalizedEpoch)?.tree.root ?? zeroHash);
    // a payee never claimed more from an operator than a final root of that operator gave it
    const finals = [...o.epochs.values()].filter((e) => e.status === Status.Finalized);
    PAYEES.forEach((_, j) => {
      assert.equal(claimed[k]![j], o.paid[j], `payee ${j} from operator ${k}`);
      assert.ok(claimed[k]![j]! <= finals.reduce((x, e) => (e.amounts[j]! > x ? e.amounts[j]! : x), 0n), `payee ${j} claimed more from operator ${k} than any final root gave it`);
    });
    assert.equal(positions[k]!.bonded + positions[k]!.unbonding, o.stake, `operator ${k}'s stake`);
    for (const e of o.epochs.values()) bonds += e.bond;
  }
  assert.equal(totalFunded, ledgers.reduce((x, l) => x + l.funded, 0n), 'totalFunded is the sum of the ledgers');
  assert.equal(totalClaimed, ledgers.reduce((x, l) => x + l.claimed, 0n), 'totalClaimed is the sum of the ledgers');
  assert.equal(held, totalFunded - totalClaimed + bonds, 'the contract holds the unclaimed funds and the bonds in dispute');
  PAYEES.forEach((_, j) => assert.equal(payeeBalances[j], m.operators.reduce((x, o) => x + o.paid[j]!, 0n), `payee ${j} received exactly its claims`));
  assert.equal(treasury, treasuryStart + m.treasuryIn, 'the treasury received the slashes and the expired bonds');
  assert.equal(challenger, CHALLENGER_FUNDS - m.challengerSpent, "the challenger's bonds: back when upheld, lost when rejected or expired");
  assert.equal(total, supply, 'supply conserved');
}

before(async () => {
  t = await startTestProtocol();
  const admin = await t.as(0);
  supply = await admin.openToken.read.totalSupply();
  await t.mined(admin.attributionSettlement.write.grantRole([await admin.attributionSettlement.read.ARBITER_ROLE(), addr(ARBITER)]));
  for (const i of OPERATORS) {
    await t.mined(admin.openToken.write.transfer([addr(i), OPERATOR_STAKE]));
    const o = await t.as(i);
    await t.mined(o.openToken.write.approve([t.addresses.staking, OPERATOR_STAKE]));
    await t.mined(o.staking.write.stake([0, 0n, OPERATOR_STAKE]));
  }
  for (const i of CONSUMERS) {
    await t.mined(admin.openToken.write.transfer([addr(i), DEPOSIT]));
    const c = await t.as(i);
    await t.mined(c.openToken.write.approve([t.addresses.inferenceEscrow, maxUint256]));
    await t.mined(c.inferenceEscrow.write.deposit([addr(i), DEPOSIT]));
  }
  await t.mined(admin.openToken.write.transfer([addr(CHALLENGER), CHALLENGER_FUNDS]));
  await t.mined((await t.as(CHALLENGER)).openToken.write.approve([t.addresses.attributionSettlement, maxUint256]));
  treasuryStart = await admin.openToken.read.balanceOf([addr(0)]);
  await callJsonRpc(t.anvil.url, 'anvil_setBlockTimestampInterval', [1]);
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

test('operators that do not trust each other: no root pays from another operator, over random interleavings', async (ctx) => {
  let steps = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(actionArb, { minLength: STEPS, maxLength: STEPS }), async (actions) => {
      await restore();
      const m = freshModel();
      for (const action of actions) {
        await step(m, action);
        await checkInvariants(m);
        steps++;
      }
    }),
    { numRuns: RUNS, interruptAfterTimeLimit: 600_000 },
  );
  ctx.diagnostic(`${steps} steps; ${[...stats.entries()].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  for (const outcome of ['post greedy: AttributionSettlementRootExceedsFunding', 'post honest: posted', 'dispute: AttributionSettlementSelfDispute', 'expire: expired', 'claim: paid', 'resolve: upheld', 'proveDecrease: reverted']) {
    assert.ok((stats.get(outcome) ?? 0) > 0, `no run reached "${outcome}"`);
  }
});
