import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import fc from 'fast-check';
import {
  keccak256,
  maxUint256,
  parseEther,
  toBytes,
  type Address,
  type Hex,
  zeroAddress,
} from 'viem';
import { callJsonRpc } from './json-rpc.ts';
import { signSpendAuthorization, type SpendAuthorization } from './spend-authorization.ts';
import { expectRevert, startTestProtocol, testProtocolParams, type TestProtocol } from './test-chain.ts';

/*
 * Model-based property test of escrow + settlement: random sequences of deposits, consumer-signed
 * spend authorizations, epochs posted by one operator on its own ledger (drawing those
 * authorizations and paying the drawn funds out as cumulative earnings to four payees), time
 * passing, claims from that operator's ledger, finalization
 * and withdrawals. A model predicts each call's outcome (success, or the exact custom error) and
 * the protocol's invariants are checked after every step. Block times are made deterministic with
 * anvil's fixed block-timestamp interval, so the model knows when a window or a delay has passed.
 */

// Accounts: 0 treasury, 1-3 consumers, 4 the operator, 5-8 payees (they start with no OPEN), 9 claims for others.
const CONSUMERS = [1, 2, 3] as const;
const OPERATOR = 4;
const PAYEES = [5, 6, 7, 8] as const;
const KEEPER = 9;
const WINDOW = testProtocolParams(zeroAddress).challengeWindow;
const DELAY = testProtocolParams(zeroAddress).withdrawalDelay;
const CONSUMER_FUNDS = parseEther('10000');
const INITIAL_DEPOSIT = parseEther('50');
const NUM_RUNS = 25;

type Leaf = [Address, bigint];
type Tree = StandardMerkleTree<Leaf>;

type Action =
  | { kind: 'deposit'; consumer: number; amount: bigint }
  | { kind: 'use'; consumer: number; amount: bigint; shortExpiry: boolean }
  | { kind: 'post'; include: boolean[]; careful: boolean; weights: number[]; overstate: boolean; percents: number[] }
  | { kind: 'advance'; seconds: number }
  | { kind: 'advanceToDeadline'; deadline: 'window' | 'unlock'; consumer: number; offset: -1n | 0n }
  | { kind: 'claim'; payee: number; stale: boolean; byKeeper: boolean }
  | { kind: 'finalize' }
  | { kind: 'requestWithdrawal'; consumer: number; percent: number }
  | { kind: 'withdraw'; consumer: number }
  | { kind: 'cancelWithdrawal'; consumer: number };

const consumerArb = fc.integer({ min: 0, max: CONSUMERS.length - 1 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deposit' as const), consumer: consumerArb, amount: fc.bigInt(1n, parseEther('100')) }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('use' as const), consumer: consumerArb, amount: fc.bigInt(0n, parseEther('60')), shortExpiry: fc.integer({ min: 0, max: 7 }).map((n) => n === 0) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('post' as const),
      include: fc.array(fc.integer({ min: 0, max: 4 }).map((n) => n > 0), { minLength: 3, maxLength: 3 }),
      // A careful operator leaves out authorizations that would make its epoch revert.
      careful: fc.integer({ min: 0, max: 2 }).map((n) => n > 0),
      weights: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
      overstate: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      // how much of each consumer's authorised headroom the operator metered (100: all of it)
      percents: fc.array(fc.integer({ min: 0, max: 100 }).map((n) => (n > 60 ? 100 : n)), { minLength: 3, maxLength: 3 }),
    }),
  },
  // Lands the next transaction exactly on, or one second before, the pending epoch's window end or a withdrawal's unlock.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('advanceToDeadline' as const),
      deadline: fc.constantFrom('window' as const, 'unlock' as const),
      consumer: consumerArb,
      offset: fc.constantFrom(-1n as const, 0n as const),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.oneof(fc.constantFrom(1, 20, 50, 98, 99), fc.constantFrom(100, 101, 150, 250)) }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('claim' as const), payee: fc.integer({ min: 0, max: PAYEES.length - 1 }), stale: fc.boolean(), byKeeper: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'finalize' as const }) },
  // A share of the consumer's deposit at the time, sometimes more than all of it.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('requestWithdrawal' as const), consumer: consumerArb, percent: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), consumer: consumerArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelWithdrawal' as const), consumer: consumerArb }) },
);

interface ConsumerModel {
  wallet: bigint;
  escrow: bigint;
  /** Cumulative amount drawn by the operator. */
  drawn: bigint;
  lastNonce: bigint;
  /** Highest cumulative amount signed, and the nonce of the next signature. */
  signed: bigint;
  nextNonce: bigint;
  latest?: { auth: SpendAuthorization; signature: Hex };
  withdrawal?: { amount: bigint; unlockAt: bigint };
}

interface EpochModel {
  tree: Tree;
  amounts: bigint[];
  /** The declared cumulative total. */
  total: bigint;
  postedAt: bigint;
}

/** The operator's ledger (the only one: every epoch is the operator's). */
interface Model {
  consumers: ConsumerModel[];
  /** Cumulative earnings of each payee in the last posted root. */
  earned: bigint[];
  claimed: bigint[];
  totalFunded: bigint;
  totalClaimed: bigint;
  lastEpoch: bigint;
  pendingEpoch: bigint;
  finalizedEpoch: bigint;
  epochs: Map<bigint, EpochModel>;
}

function freshModel(): Model {
  return {
    consumers: CONSUMERS.map(() => ({ wallet: CONSUMER_FUNDS - INITIAL_DEPOSIT, escrow: INITIAL_DEPOSIT, drawn: 0n, lastNonce: 0n, signed: 0n, nextNonce: 1n })),
    earned: PAYEES.map(() => 0n),
    claimed: PAYEES.map(() => 0n),
    totalFunded: 0n,
    totalClaimed: 0n,
    lastEpoch: 0n,
    pendingEpoch: 0n,
    finalizedEpoch: 0n,
    epochs: new Map(),
  };
}

let t: TestProtocol;
let restore: () => Promise<void>;
let genesisSupply: bigint;
const stats = new Map<string, number>();
const count = (what: string) => stats.set(what, (stats.get(what) ?? 0) + 1);

const addr = (i: number): Address => t.accounts[i]!.address;
const payee = (p: number): Address => addr(PAYEES[p]!);
const consumer = (c: number): Address => addr(CONSUMERS[c]!);

async function latestTimestamp(): Promise<bigint> {
  return (await (await t.clients(0)).publicClient.getBlock()).timestamp;
}

async function blockTime(blockNumber: bigint): Promise<bigint> {
  return (await (await t.clients(0)).publicClient.getBlock({ blockNumber })).timestamp;
}

function split(amount: bigint, weights: number[]): bigint[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum === 0) return weights.map((_, i) => (i === 0 ? amount : 0n));
  const shares = weights.map((w) => (amount * BigInt(w)) / BigInt(sum));
  const first = weights.findIndex((w) => w > 0);
  shares[first] = shares[first]! + amount - shares.reduce((a, b) => a + b, 0n);
  return shares;
}

/** The pending epoch finalizes in a transaction at `ts` if its window has passed (and it is not disputed). */
function finalizationAt(m: Model, ts: bigint): { pendingEpoch: bigint; finalizedEpoch: bigint } {
  if (m.pendingEpoch !== 0n && ts >= m.epochs.get(m.pendingEpoch)!.postedAt + WINDOW) {
    return { pendingEpoch: 0n, finalizedEpoch: m.pendingEpoch };
  }
  return { pendingEpoch: m.pendingEpoch, finalizedEpoch: m.finalizedEpoch };
}

async function step(m: Model, action: Action): Promise<void> {
  // With a fixed block-timestamp interval of 1 s, the next transaction's block is exactly one second later.
  const ts = (await latestTimestamp()) + 1n;
  switch (action.kind) {
    case 'deposit': {
      const c = m.consumers[action.consumer]!;
      const p = await t.as(CONSUMERS[action.consumer]!);
      await t.mined(p.inferenceEscrow.write.deposit([consumer(action.consumer), action.amount]));
      c.wallet -= action.amount;
      c.escrow += action.amount;
      count('deposit');
      return;
    }
    case 'use': {
      const c = m.consumers[action.consumer]!;
      const auth: SpendAuthorization = {
        consumer: consumer(action.consumer),
        operator: addr(OPERATOR),
        cumulativeAmount: c.signed + action.amount,
        nonce: c.nextNonce,
        expiry: action.shortExpiry ? ts + 30n : ts + 1_000_000n,
      };
      const signer = t.accounts[CONSUMERS[action.consumer]!]!;
      const signature = await signSpendAuthorization(signer, { chainId: 31337, escrow: t.addresses.inferenceEscrow }, auth);
      c.signed = auth.cumulativeAmount;
      c.nextNonce += 1n;
      c.latest = { auth, signature };
      count('sign');
      return;
    }
    case 'post': {
      const fin = finalizationAt(m, ts);
      /** The cumulative amount the operator draws consumer i up to: part of its headroom. */
      const drawTo = (i: number) => {
        const c = m.consumers[i]!;
        const cap = c.latest!.auth.cumulativeAmount;
        return cap <= c.drawn ? cap : c.drawn + ((cap - c.drawn) * BigInt(action.percents[i]!)) / 100n;
      };
      const replayed = (c: ConsumerModel, to: bigint) => c.latest!.auth.nonce < c.lastNonce || (c.latest!.auth.nonce === c.lastNonce && to <= c.drawn);
      const drawable = (i: number) => {
        const c = m.consumers[i]!;
        return !!c.latest && ts <= c.latest.auth.expiry && !replayed(c, drawTo(i)) && drawTo(i) >= c.drawn && drawTo(i) - c.drawn <= c.escrow;
      };
      const included = CONSUMERS.map((_, i) => i).filter(
        (i) => action.include[i] && m.consumers[i]!.latest && (!action.careful || drawable(i)),
      );
      const signed = included.map((i) => m.consumers[i]!.latest!);
      let expected: [string, unknown[]] | undefined;
      let funded = 0n;
      const draws: bigint[] = [];
      if (fin.pendingEpoch !== 0n) expected = ['AttributionSettlementEpochPending', [fin.pendingEpoch]];
      for (const i of expected ? [] : included) {
        const c = m.consumers[i]!;
        const { auth } = c.latest!;
        const to = drawTo(i);
        if (ts > auth.expiry) expected = ['InferenceEscrowAuthorizationExpired', [auth.expiry]];
        else if (replayed(c, to)) expected = ['InferenceEscrowAuthorizationReplayed', [auth.nonce, c.lastNonce]];
        else if (to < c.drawn) expected = ['InferenceEscrowCumulativeBelowDrawn', [to, c.drawn]];
        else if (to - c.drawn > c.escrow) expected = ['InferenceEscrowInsufficientDeposit', [c.escrow, to - c.drawn]];
        if (expected) break;
        draws.push(to);
        funded += to - c.drawn;
      }
      const shares = split(funded, action.weights);
      const amounts = m.earned.map((e, i) => e + shares[i]!);
      const tree = StandardMerkleTree.of(amounts.map((a, i): Leaf => [payee(i), a]), ['address', 'uint256']);
      const sum = amounts.reduce((a, b) => a + b, 0n);
      const total = action.overstate ? sum + 1n : sum;
      if (!expected && total > m.totalFunded + funded) expected = ['AttributionSettlementRootExceedsFunding', [total, m.totalFunded + funded]];
      const epoch = m.lastEpoch + 1n;
      const send = (await t.as(OPERATOR)).attributionSettlement.write.postEpoch([
        epoch,
        tree.root as Hex,
        total,
        keccak256(toBytes(`inputs ${epoch}`)),
        '',
        signed.map((s, k) => ({ auth: s.auth, signature: s.signature, drawTo: drawTo(included[k]!) })),
      ]);
      if (expected) {
        await expectRevert(send, ...expected);
        count(`post: ${expected[0]}`);
        return;
      }
      const receipt = await t.mined(send);
      assert.equal(await blockTime(receipt.blockNumber), ts, 'block times are deterministic');
      Object.assign(m, fin);
      included.forEach((i, k) => {
        const c = m.consumers[i]!;
        c.lastNonce = c.latest!.auth.nonce;
        c.escrow -= draws[k]! - c.drawn;
        c.drawn = draws[k]!;
      });
      m.totalFunded += funded;
      m.earned = amounts;
      m.lastEpoch = epoch;
      m.pendingEpoch = epoch;
      m.epochs.set(epoch, { tree, amounts, total, postedAt: ts });
      count(funded > 0n ? 'post: funded' : 'post: unfunded');
      return;
    }
    case 'advance': {
      await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(ts - 1n) + action.seconds]);
      await callJsonRpc(t.anvil.url, 'evm_mine');
      assert.equal(await latestTimestamp(), ts - 1n + BigInt(action.seconds));
      count('advance');
      return;
    }
    case 'advanceToDeadline': {
      const deadline =
        action.deadline === 'window'
          ? m.pendingEpoch !== 0n ? m.epochs.get(m.pendingEpoch)!.postedAt + WINDOW : undefined
          : // The first consumer from `action.consumer` on with a pending withdrawal.
            [0, 1, 2].map((k) => m.consumers[(action.consumer + k) % CONSUMERS.length]!.withdrawal).find((w) => w)?.unlockAt;
      // The next transaction runs at `latest + 1`, so the latest block goes one second before the target.
      const latest = deadline === undefined ? undefined : deadline + action.offset - 1n;
      if (latest === undefined || latest < ts) {
        count('advanceToDeadline: nothing to do');
        return;
      }
      await callJsonRpc(t.anvil.url, 'evm_setNextBlockTimestamp', [Number(latest)]);
      await callJsonRpc(t.anvil.url, 'evm_mine');
      assert.equal(await latestTimestamp(), latest);
      count(`advanceToDeadline: ${action.deadline}${action.offset}`);
      return;
    }
    case 'claim': {
      const fin = finalizationAt(m, ts);
      const who = payee(action.payee);
      const caller = action.byKeeper ? KEEPER : PAYEES[action.payee]!;
      const settlement = (await t.as(caller)).attributionSettlement;
      const final = m.epochs.get(fin.finalizedEpoch);
      if (!final) {
        await expectRevert(settlement.write.claim([addr(OPERATOR), who, 0n, []]), 'AttributionSettlementNoFinalizedRoot', [addr(OPERATOR)]);
        count('claim: NoFinalizedRoot');
        return;
      }
      const used = (action.stale && m.epochs.get(fin.finalizedEpoch - 1n)) || final;
      const amount = used.amounts[action.payee]!;
      const send = settlement.write.claim([addr(OPERATOR), who, amount, used.tree.getProof(action.payee) as Hex[]]);
      if (used.tree.root !== final.tree.root) {
        await expectRevert(send, 'AttributionSettlementInvalidProof', [who, amount]);
        count('claim: InvalidProof');
        return;
      }
      if (amount <= m.claimed[action.payee]!) {
        await expectRevert(send, 'AttributionSettlementNothingToClaim', [who]);
        count('claim: NothingToClaim');
        return;
      }
      await t.mined(send);
      Object.assign(m, fin);
      m.totalClaimed += amount - m.claimed[action.payee]!;
      m.claimed[action.payee] = amount;
      count('claim: paid');
      return;
    }
    case 'finalize': {
      const fin = finalizationAt(m, ts);
      await t.mined((await t.as(KEEPER)).attributionSettlement.write.finalizeEpoch([addr(OPERATOR)]));
      if (fin.finalizedEpoch !== m.finalizedEpoch) count('finalize: finalized');
      Object.assign(m, fin);
      return;
    }
    case 'requestWithdrawal': {
      const c = m.consumers[action.consumer]!;
      const escrow = (await t.as(CONSUMERS[action.consumer]!)).inferenceEscrow;
      const share = (c.escrow * BigInt(action.percent)) / 100n;
      const amount = share > 0n ? share : 1n;
      if (amount > c.escrow) {
        await expectRevert(escrow.write.requestWithdrawal([amount]), 'InferenceEscrowInsufficientDeposit', [c.escrow, amount]);
        count('requestWithdrawal: InsufficientDeposit');
        return;
      }
      await t.mined(escrow.write.requestWithdrawal([amount]));
      c.withdrawal = { amount, unlockAt: ts + DELAY };
      count('requestWithdrawal');
      return;
    }
    case 'withdraw': {
      const c = m.consumers[action.consumer]!;
      const escrow = (await t.as(CONSUMERS[action.consumer]!)).inferenceEscrow;
      if (!c.withdrawal) {
        await expectRevert(escrow.write.withdraw(), 'InferenceEscrowNoWithdrawalPending', [addr(CONSUMERS[action.consumer]!)]);
        count('withdraw: NoWithdrawalPending');
      } else if (ts < c.withdrawal.unlockAt) {
        await expectRevert(escrow.write.withdraw(), 'InferenceEscrowWithdrawalLocked', [c.withdrawal.unlockAt]);
        count('withdraw: WithdrawalLocked');
      } else {
        await t.mined(escrow.write.withdraw());
        const requested = c.withdrawal.amount;
        const amount = requested < c.escrow ? requested : c.escrow;
        c.escrow -= amount;
        c.wallet += amount;
        c.withdrawal = undefined;
        count(amount < requested ? 'withdraw: partial (draws came first)' : 'withdraw: paid');
      }
      return;
    }
    case 'cancelWithdrawal': {
      const c = m.consumers[action.consumer]!;
      const escrow = (await t.as(CONSUMERS[action.consumer]!)).inferenceEscrow;
      if (!c.withdrawal) {
        await expectRevert(escrow.write.cancelWithdrawal(), 'InferenceEscrowNoWithdrawalPending', [addr(CONSUMERS[action.consumer]!)]);
      } else {
        await t.mined(escrow.write.cancelWithdrawal());
        c.withdrawal = undefined;
      }
      count('cancelWithdrawal');
      return;
    }
  }
}

/** The protocol's invariants, read from chain, plus agreement with the model. */
async function checkInvariants(m: Model): Promise<void> {
  const p = await t.as(0);
  const s = p.attributionSettlement;
  const e = p.inferenceEscrow;
  const token = p.openToken;
  const [totalFunded, totalClaimed, settlementBalance, supply, escrowBalance, totalDeposits, ledger] =
    await Promise.all([
      s.read.totalFunded(),
      s.read.totalClaimed(),
      token.read.balanceOf([t.addresses.attributionSettlement]),
      token.read.totalSupply(),
      token.read.balanceOf([t.addresses.inferenceEscrow]),
      e.read.totalDeposits(),
      s.read.ledgerOf([addr(OPERATOR)]),
    ]);
  const { finalizedEpoch, finalizedRoot, pendingEpoch } = ledger;
  const payees = await Promise.all(PAYEES.map((_, i) => Promise.all([s.read.claimed([addr(OPERATOR), payee(i)]), token.read.balanceOf([payee(i)])])));
  const consumers = await Promise.all(
    CONSUMERS.map((_, i) =>
      Promise.all([
        e.read.balanceOf([consumer(i)]),
        e.read.drawn([consumer(i), addr(OPERATOR)]),
        token.read.balanceOf([consumer(i)]),
      ]),
    ),
  );

  // Funds: claims never exceed funding, and the settlement contract holds exactly the difference.
  // With one operator, its ledger holds all the funds and all the claims.
  assert.equal(ledger.funded, totalFunded, "the operator's ledger funded == total funded");
  assert.equal(ledger.claimed, totalClaimed, "the operator's ledger claimed == total claimed");
  assert.ok(ledger.claimed <= ledger.funded, 'claimed <= funded on the ledger');
  assert.ok(totalClaimed <= totalFunded, 'total claimed <= total funded');
  assert.equal(settlementBalance, totalFunded - totalClaimed, 'settlement balance == funded - claimed');
  assert.equal(supply, genesisSupply, 'OPEN total supply unchanged');
  // The escrow holds exactly its deposits.
  assert.equal(escrowBalance, totalDeposits, 'escrow balance == total deposits');
  assert.equal(totalDeposits, consumers.reduce((a, [balance]) => a + balance, 0n), 'total deposits == sum of balances');

  // Nothing is paid twice: each payee got exactly what it claimed, at most its earnings in the final root.
  const finalAmounts = finalizedEpoch === 0n ? PAYEES.map(() => 0n) : m.epochs.get(finalizedEpoch)!.amounts;
  let paid = 0n;
  payees.forEach(([claimed, balance], i) => {
    assert.ok(claimed <= finalAmounts[i]!, `payee ${i} claimed ${claimed} > its final earnings ${finalAmounts[i]}`);
    assert.equal(balance, claimed, `payee ${i} received exactly what it claimed`);
    paid += balance;
  });
  assert.equal(paid, totalClaimed, 'payees received totalClaimed in all');

  // A consumer never loses more to draws than the largest cumulative amount it signed.
  let drawnTotal = 0n;
  consumers.forEach(([balance, drawn, wallet], i) => {
    const c = m.consumers[i]!;
    const outflow = CONSUMER_FUNDS - wallet - balance;
    assert.equal(outflow, drawn, `consumer ${i}: what left its wallet and deposit is what was drawn`);
    assert.ok(drawn <= c.signed, `consumer ${i} drawn ${drawn} > signed ${c.signed}`);
    drawnTotal += drawn;
    assert.equal(balance, c.escrow, `consumer ${i} deposit matches the model`);
    assert.equal(wallet, c.wallet, `consumer ${i} wallet matches the model`);
  });
  assert.equal(drawnTotal, totalFunded, 'everything funded was drawn from consumers');

  // The chain agrees with the model.
  assert.equal(totalFunded, m.totalFunded);
  assert.equal(totalClaimed, m.totalClaimed);
  assert.equal(finalizedEpoch, m.finalizedEpoch);
  assert.equal(pendingEpoch, m.pendingEpoch);
  assert.equal(ledger.lastEpoch, m.lastEpoch);
  assert.equal(ledger.finalizedTotal, finalizedEpoch === 0n ? 0n : m.epochs.get(finalizedEpoch)!.total);
  assert.equal(finalizedRoot, finalizedEpoch === 0n ? `0x${'00'.repeat(32)}` : m.epochs.get(finalizedEpoch)!.tree.root);
}

before(async () => {
  t = await startTestProtocol();
  const treasury = await t.as(0);
  genesisSupply = await treasury.openToken.read.totalSupply();
  await t.mined(treasury.openToken.write.transfer([addr(OPERATOR), parseEther('1000')]));
  const operator = await t.as(OPERATOR);
  await t.mined(operator.openToken.write.approve([t.addresses.staking, parseEther('1000')]));
  await t.mined(operator.staking.write.stake([0, 0n, parseEther('1000')]));
  for (const i of CONSUMERS) {
    await t.mined(treasury.openToken.write.transfer([addr(i), CONSUMER_FUNDS]));
    const c = await t.as(i);
    await t.mined(c.openToken.write.approve([t.addresses.inferenceEscrow, maxUint256]));
    await t.mined(c.inferenceEscrow.write.deposit([addr(i), INITIAL_DEPOSIT]));
  }
  for (const i of PAYEES) assert.equal(await treasury.openToken.read.balanceOf([addr(i)]), 0n);
  // Every block one second after the last, whatever the wall clock says.
  await callJsonRpc(t.anvil.url, 'anvil_setBlockTimestampInterval', [1]);
  restore = await t.checkpoint();
});

after(async () => {
  await t?.stop();
});

test('escrow and settlement keep their invariants over random sequences of actions', async (ctx) => {
  await fc.assert(
    fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 60, size: 'max' }), async (actions) => {
      await restore();
      const m = freshModel();
      await checkInvariants(m);
      for (const action of actions) {
        await step(m, action);
        await checkInvariants(m);
      }
    }),
    // A failure's shrinking is cut short after two minutes (it is still reported).
    { numRuns: NUM_RUNS, interruptAfterTimeLimit: 120_000 },
  );
  ctx.diagnostic([...stats.entries()].sort().map(([k, v]) => `${k}: ${v}`).join(', '));
  assert.ok((stats.get('claim: paid') ?? 0) > 0, 'some run paid a claim');
});
