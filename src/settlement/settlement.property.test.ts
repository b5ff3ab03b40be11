/**
 * Property test of the node's settlement over random sequences of deposits, authorisations, paid
 * inferences (metered, receipts signed and stored as serving does, fees up to the reserved
 * maximum), epochs, time, claims and withdrawals (with the node's early draw), on a real chain and
 * store. After every step: payouts never exceed what was drawn, draws never exceed what was
 * metered, spend never exceeds what was authorised, served usage is never stranded by a withdrawal,
 * and no payee is paid more than its cumulative earnings or twice.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createWalletClient, getAddress, http, parseEther, type Address, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getPublishedModel, type PublishedModel } from '../factory/published-models.ts';
import { signReceipt, storeReceipt, textHash } from '../attribution/receipts.ts';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import { signSpendAuthorization } from '../chain/spend-authorization.ts';
import { createFactoryWorker } from '../factory/factory-worker.ts';
import { createTrainingJob } from '../factory/jobs.ts';
import { BUILDER, CONTRIBUTORS, OWNER, startFactoryTestContext, type FactoryTestContext } from '../factory/test-context.ts';
import { acceptAuthorization, latestAuthorization } from './authorizations.ts';
import { consumerSpend } from './charges.ts';
import { drawEarly } from './draw-early.ts';
import { runEpoch, type SettlementNode } from './epoch.ts';
import { distribute } from './fee-split.ts';
import { createEscrowMeter, PaymentRequiredError } from './meter.ts';
import { rewardsOf } from './rewards.ts';

const NODE = 0;
const consumers = [1, 2, 3].map((i) => privateKeyToAccount(`0x${(0xbeef00 + i).toString(16).padStart(64, '0')}` as Hex));
let f: FactoryTestContext;
let model: PublishedModel;
let node: SettlementNode;
let meter: ReturnType<typeof createEscrowMeter>;
let contributions: Array<{ id: Hex; datanet_id: string }>;
let receiptCount = 0;
const claimedByUs = new Map<Address, bigint>();
const maxCap = new Map<Address, bigint>();
/** How often each outcome happened, so the test shows it exercised them. */
const seen = new Map<string, number>();
const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

before(async () => {
  f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: 'prop-qa', baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: parseEther('0.01').toString(), hyperparameters: { epochs: 1, batchSize: 8, sketchDimension: 16, rank: 2, alpha: 4 } });
  await createFactoryWorker(f.ctx).drain();
  model = await getPublishedModel(f.db, 'prop-qa');
  contributions = await f.db.query('select id, datanet_id::text from contributions');
  node = { db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts, indexChain: f.indexChain };
  meter = createEscrowMeter({ db: f.db, contracts: f.ctx.contracts, operator: f.addr(NODE) });
  const op = await f.t.as(NODE);
  await f.t.mined(op.openToken.write.approve([f.t.addresses.staking, parseEther('1000')]));
  await f.t.mined(op.staking.write.stake([0, 0n, parseEther('1000')]));
  for (const c of consumers) {
    await f.t.mined(op.openToken.write.transfer([c.address, parseEther('100')]));
    await f.t.mined((await f.t.clients(NODE)).walletClient.sendTransaction({ to: c.address, value: parseEther('1') }));
  }
});

after(async () => {
  await f?.stop();
});

type Action =
  | { kind: 'deposit'; c: number; amount: number }
  | { kind: 'authorize'; c: number; raise: number }
  | { kind: 'infer'; c: number; tokens: number; percent: number }
  | { kind: 'epoch' }
  | { kind: 'advance'; seconds: number }
  | { kind: 'claim'; payee: number }
  | { kind: 'requestWithdrawal'; c: number; percent: number }
  | { kind: 'withdraw'; c: number };

const c = fc.integer({ min: 0, max: consumers.length - 1 });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deposit' as const), c, amount: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('authorize' as const), c, raise: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('infer' as const), c, tokens: fc.integer({ min: 10, max: 400_000 }), percent: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'epoch' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 150 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('claim' as const), payee: fc.constantFrom(NODE, OWNER, BUILDER, ...CONTRIBUTORS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('requestWithdrawal' as const), c, percent: fc.constantFrom(30, 100) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), c }) },
);

const walletOf = (account: LocalAccount) => createWalletClient({ account, chain: f.ctx.clients.chain, transport: http(f.t.anvil.url) });

async function step(a: Action): Promise<void> {
  const who = 'c' in a ? consumers[a.c]! : null;
  switch (a.kind) {
    case 'deposit': {
      const p = await f.t.as(NODE);
      const amount = parseEther(String(a.amount));
      const wallet = walletOf(who!);
      const token = { address: f.t.addresses.openToken, abi: p.openToken.abi };
      const approve = await wallet.writeContract({ ...token, functionName: 'approve', args: [f.t.addresses.inferenceEscrow, amount] });
      await f.ctx.clients.publicClient.waitForTransactionReceipt({ hash: approve });
      const dep = await wallet.writeContract({ address: f.t.addresses.inferenceEscrow, abi: p.inferenceEscrow.abi, functionName: 'deposit', args: [who!.address, amount] });
      await f.ctx.clients.publicClient.waitForTransactionReceipt({ hash: dep });
      return;
    }
    case 'authorize': {
      const current = await latestAuthorization(f.db, who!.address);
      const spent = await consumerSpend(f.db, who!.address);
      const base = current && current.auth.cumulativeAmount > spent ? current.auth.cumulativeAmount : spent;
      const auth = { consumer: who!.address, operator: f.addr(NODE), cumulativeAmount: base + parseEther(String(a.raise)) / 10n, nonce: (current?.auth.nonce ?? 0n) + 1n, expiry: BigInt(Math.floor(Date.now() / 1000)) + 10n ** 6n };
      const deployment = { chainId: 31337, escrow: f.t.addresses.inferenceEscrow };
      await acceptAuthorization(f.db, { ...deployment, client: f.ctx.clients.publicClient }, f.addr(NODE), auth, await signSpendAuthorization(who!, deployment, auth));
      maxCap.set(who!.address, auth.cumulativeAmount);
      return;
    }
    case 'infer': {
      const maxFee = (BigInt(model.pricePer1kTokens) * BigInt(a.tokens) + 999n) / 1000n;
      const funds = await meter.funds(who!.address);
      let reservation;
      try {
        reservation = await meter.reserve(who!.address, maxFee, model.name);
      } catch (err) {
        assert.ok(err instanceof PaymentRequiredError, String(err));
        assert.ok(funds.available < maxFee, `refused although ${funds.available} covers ${maxFee}`);
        count('infer: 402');
        return;
      }
      assert.ok(funds.available >= maxFee, `served although only ${funds.available} of ${maxFee} is available`);
      try {
        const fee = (maxFee * BigInt(a.percent)) / 100n;
        const picked = [contributions[receiptCount % contributions.length]!, contributions[(receiptCount * 7 + 3) % contributions.length]!].filter((x, i, xs) => xs.findIndex((y) => y.id === x.id) === i);
        const ppm = distribute(1_000_000n, picked.map((_, i) => BigInt(i + 1)));
        // every third answer's attribution abstains: its contributors' share goes to the datanets' pools
        const abstained = receiptCount % 3 === 2;
        const datanets = [...new Set(picked.map((x) => Number(x.datanet_id)))].sort((x, y) => x - y);
        const poolPpm = distribute(1_000_000n, datanets.map(() => 1n));
        const body: ReceiptBody = {
          version: 2, node: f.addr(NODE), chainId: 31337,
          model: { id: model.modelId, name: model.name, version: 1, baseModel: model.baseModelId, adapter: model.adapterHash, trace: model.traceBlob },
          input: { hash: textHash(`q${receiptCount}`), tokens: 5 }, output: { hash: textHash(`a${receiptCount}`), tokens: 5 },
          fee: { pricePer1kTokens: model.pricePer1kTokens, amount: fee.toString(), split: { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 } },
          parameters: { spanWeightBps: 5000, thresholdPpm: 10_000, evidenceThresholdPpm: 400_000, groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 },
          contributions: abstained ? [] : picked.map((x, i) => ({ contributionId: x.id, datanetId: Number(x.datanet_id), sharePpm: Number(ppm[i]), span: 0, influence: 0, spans: [], group: { size: 1, others: [] } })),
          pools: abstained ? datanets.map((datanetId, i) => ({ datanetId, sharePpm: Number(poolPpm[i]) })) : [],
          evidence: { coverage: abstained ? 0 : 1, influenceMargin: 0, adapterGain: 1, scorePpm: abstained ? 0 : 1_000_000, abstained },
          createdAt: new Date(Date.UTC(2026, 0, 1) + receiptCount++).toISOString(),
        };
        const receipt = await signReceipt(f.t.accounts[NODE]!, body);
        await storeReceipt(f.db, receipt, { prompt: 'q', output: 'a', consumer: who!.address }, (tx) => reservation.charge(tx, { id: receipt.id, fee }));
        count('infer: served');
      } finally {
        await reservation.release();
      }
      return;
    }
    case 'epoch':
      count(`epoch: ${(await runEpoch(node)).kind}`);
      return;
    case 'advance':
      await f.t.increaseTime(a.seconds);
      return;
    case 'claim': {
      const payee = f.addr(a.payee);
      const r = await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, payee);
      if (!r.claim) return;
      assert.equal(r.claim.operator, f.addr(NODE), "the node's rewards are claimed from its own ledger");
      await f.t.mined(f.ctx.contracts.attributionSettlement.write.claim([r.claim.operator, payee, BigInt(r.claim.cumulativeAmount), r.claim.proof]));
      claimedByUs.set(payee, (claimedByUs.get(payee) ?? 0n) + BigInt(r.claimable));
      count('claim: paid');
      return;
    }
    case 'requestWithdrawal': {
      const balance = await f.ctx.contracts.inferenceEscrow.read.balanceOf([who!.address]);
      const amount = (balance * BigInt(a.percent)) / 100n;
      if (amount === 0n) return;
      const wallet = walletOf(who!);
      await f.ctx.clients.publicClient.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: f.t.addresses.inferenceEscrow, abi: f.ctx.contracts.inferenceEscrow.abi, functionName: 'requestWithdrawal', args: [amount] }) });
      count((await drawEarly(node)) > 0n ? 'withdrawal: served usage drawn first' : 'withdrawal: requested'); // the node's worker checks every minute; the delay is longer
      return;
    }
    case 'withdraw': {
      const w = await f.ctx.contracts.inferenceEscrow.read.withdrawalOf([who!.address]);
      const head = await f.ctx.clients.publicClient.getBlock({ blockTag: 'latest' });
      if (w.amount === 0n || head.timestamp < w.unlockAt) return;
      const wallet = walletOf(who!);
      await f.ctx.clients.publicClient.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: f.t.addresses.inferenceEscrow, abi: f.ctx.contracts.inferenceEscrow.abi, functionName: 'withdraw', args: [] }) });
      count('withdraw: paid');
    }
  }
}

async function checkInvariants(): Promise<void> {
  const s = f.ctx.contracts.attributionSettlement.read, e = f.ctx.contracts.inferenceEscrow.read;
  const [funded, claimed, ledger] = await Promise.all([s.totalFunded(), s.totalClaimed(), s.ledgerOf([f.addr(NODE)])]);
  assert.ok(claimed <= funded, `claimed ${claimed} > funded ${funded}`);
  // One operator: its ledger holds every draw and every claim.
  assert.equal(ledger.funded, funded, "the node's ledger holds everything funded");
  assert.equal(ledger.claimed, claimed, "the node's ledger paid every claim");
  let drawnTotal = 0n;
  for (const consumer of consumers) {
    const [drawn, balance, spent] = await Promise.all([e.drawn([consumer.address, f.addr(NODE)]), e.balanceOf([consumer.address]), consumerSpend(f.db, consumer.address)]);
    drawnTotal += drawn;
    assert.ok(drawn <= spent, `drew ${drawn} from a consumer who spent ${spent}`);
    assert.ok(spent <= (maxCap.get(consumer.address) ?? 0n), `spent ${spent} beyond the authorised ${maxCap.get(consumer.address) ?? 0n}`);
    assert.ok(spent - drawn <= balance, `served usage ${spent - drawn} not drawn and no longer in the escrow (${balance})`);
  }
  assert.equal(drawnTotal, funded, 'everything funded was drawn from these consumers');
  let ours = 0n;
  for (const payee of [NODE, OWNER, BUILDER, ...CONTRIBUTORS].map((i) => getAddress(f.addr(i)))) {
    const onChain = await s.claimed([f.addr(NODE), payee]);
    assert.equal(onChain, claimedByUs.get(payee) ?? 0n, `${payee} was paid other than by its claims`);
    const r = await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, payee);
    assert.ok(onChain <= BigInt(r.final), `${payee} claimed ${onChain} > its final earnings ${r.final}`);
    ours += onChain;
  }
  assert.equal(ours, claimed);
}

test('settlement keeps its invariants over random sequences of deposits, inferences, epochs, claims and withdrawals', { timeout: 600_000 }, async (ctx) => {
  await fc.assert(fc.asyncProperty(fc.array(actionArb, { minLength: 10, maxLength: 30 }), async (actions) => {
    for (const a of actions) {
      await step(a);
      await checkInvariants();
    }
  }), { numRuns: 6, seed: 42 });
  ctx.diagnostic(JSON.stringify(Object.fromEntries(seen)));
  for (const what of ['infer: served', 'infer: 402', 'epoch: posted', 'claim: paid', 'withdrawal: served usage drawn first', 'withdraw: paid']) assert.ok(seen.get(what), `the sequences never reached "${what}"`);
});
