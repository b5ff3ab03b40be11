/**
 * Wall time of the settlement epoch job (`runEpoch`) for a large epoch, end to end on a real chain
 * (anvil) and store (PGlite): 100,000 receipts by 100 consumers, each crediting 5 contributions of
 * a real datanet (plus the model owner, datanet owners and stakers), split by the fee split,
 * aggregated into cumulative earnings, the Merkle tree built, inputs stored and the epoch posted
 * with 100 draws. Also times the pure part (credits + tree) alone, and, as the baseline measured in
 * the same run, what paying each inference's payees by direct ERC-20 transfers would cost in
 * transactions (the gas comparison itself is `settlement-gas`).
 *
 * Run: `npm run bench -- epoch-job` (options: --receipts=100000 --consumers=100 --contributions=5)
 */
import { parseArgs } from 'node:util';
import { parseEther, type Hex } from 'viem';
import type { ReceiptBody } from '../src/attribution/receipt-types.ts';
import { signSpendAuthorization } from '../src/chain/spend-authorization.ts';
import { createFactoryWorker } from '../src/factory/factory-worker.ts';
import { createTrainingJob } from '../src/factory/jobs.ts';
import { BUILDER, startFactoryTestContext } from '../src/factory/test-context.ts';
import { acceptAuthorization } from '../src/settlement/authorizations.ts';
import { runEpoch } from '../src/settlement/epoch.ts';
import { earningsTree, epochCredits, type EpochInputs } from '../src/settlement/epoch-tree.ts';
import { distribute } from '../src/settlement/fee-split.ts';
import { generator } from './_random.ts';

const { values: opt } = parseArgs({ options: { receipts: { type: 'string', default: '100000' }, consumers: { type: 'string', default: '100' }, contributions: { type: 'string', default: '5' } }, strict: false });
const RECEIPTS = Number(opt.receipts), CONSUMERS = Number(opt.consumers), PER = Number(opt.contributions);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const f = await startFactoryTestContext();
await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: 'bench-qa', baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: parseEther('0.001').toString(), hyperparameters: { epochs: 1, batchSize: 8, sketchDimension: 16, rank: 2, alpha: 4 } });
await createFactoryWorker(f.ctx).drain();
const contributions = await f.db.query<{ id: Hex; datanet_id: string }>('select id, datanet_id::text from contributions');
const node = await f.t.as(0);
await f.t.mined(node.openToken.write.approve([f.t.addresses.staking, parseEther('1000')]));
await f.t.mined(node.staking.write.stake([0, 0n, parseEther('1000')]));

// consumers: funded, deposited, authorised (fixed private keys)
const { privateKeyToAccount } = await import('viem/accounts');
const consumers = Array.from({ length: CONSUMERS }, (_, i) => privateKeyToAccount(`0x${(0xc0ffee + i).toString(16).padStart(64, '0')}` as Hex));
const deposit = parseEther('100');
for (const c of consumers) {
  await f.t.mined(node.openToken.write.transfer([c.address, deposit]));
  await f.t.mined(node.openToken.write.approve([f.t.addresses.inferenceEscrow, deposit]));
  await f.t.mined(node.inferenceEscrow.write.deposit([c.address, deposit]));
  const auth = { consumer: c.address, operator: f.addr(0), cumulativeAmount: deposit, nonce: 1n, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400 * 30) };
  await acceptAuthorization(f.db, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow, client: f.ctx.clients.publicClient }, f.addr(0), auth, await signSpendAuthorization(c, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow }, auth));
}

// receipts: written in bulk the way storeReceipt writes them
const rand = generator(7);
const split = { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 };
let t0 = performance.now();
const bodies: ReceiptBody[] = [];
for (let start = 0; start < RECEIPTS; start += 1000) {
  const rows: unknown[] = [];
  const values: string[] = [];
  for (let i = start; i < Math.min(RECEIPTS, start + 1000); i++) {
    const picked = Array.from({ length: PER }, () => contributions[Math.floor(rand() * contributions.length)]!).filter((c, k, a) => a.findIndex((d) => d.id === c.id) === k);
    const ppm = distribute(1_000_000n, picked.map(() => BigInt(1 + Math.floor(rand() * 100))));
    const tokens = 20 + Math.floor(rand() * 200);
    const body: ReceiptBody = {
      version: 2, node: f.addr(0), chainId: 31337,
      model: { id: '1', name: 'bench-qa', version: 1, baseModel: f.base.id, adapter: '0x00', trace: '0x00' },
      input: { hash: '0x00', tokens: 10 }, output: { hash: '0x00', tokens },
      fee: { pricePer1kTokens: parseEther('0.001').toString(), amount: ((parseEther('0.001') * BigInt(tokens + 10)) / 1000n).toString(), split },
      parameters: { spanWeightBps: 5000, thresholdPpm: 10000, evidenceThresholdPpm: 400_000, groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 },
      contributions: picked.map((c, k) => ({ contributionId: c.id, datanetId: Number(c.datanet_id), sharePpm: Number(ppm[k]), span: 0, influence: 0, spans: [], group: { size: 1, others: [] } })),
      pools: [],
      evidence: { coverage: 1, influenceMargin: 0, adapterGain: 1, scorePpm: 1_000_000, abstained: false },
      createdAt: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
    };
    bodies.push(body);
    const n = rows.length;
    values.push(`($${n + 1}, 'bench-qa', $${n + 2}, '', '', $${n + 3}, '0x', $${n + 4}, $${n + 5})`);
    rows.push(`0x${i.toString(16).padStart(64, '0')}`, consumers[i % CONSUMERS]!.address, JSON.stringify(body), body.fee.amount, body.createdAt);
  }
  // the receipts (attribution's table) and their charges (settlement's), as the meter records them
  await f.db.query(`with r as (select * from (values ${values.join(',')}) as v (id, model_name, consumer, prompt, output, body, signature, fee, created_at)),
    a as (insert into attribution_receipts (id, model_name, consumer, prompt, output, body, signature, created_at) select id, model_name, consumer, prompt, output, body::jsonb, signature, created_at::timestamptz from r)
    insert into settlement_receipts (receipt_id, consumer, fee, created_at) select id, consumer, fee::numeric, created_at::timestamptz from r`, rows);
}
console.log(`${RECEIPTS.toLocaleString('en')} receipts × ${PER} contributions by ${CONSUMERS} consumers written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// the pure part alone: credits and the tree (median of 3)
const owners = { contributors: Object.fromEntries((await f.db.query<{ id: string; contributor: Hex }>('select id, contributor from contributions')).map((r) => [r.id, r.contributor])), datanetOwners: { [String(f.snapshot.datanetId)]: f.addr(1) }, modelOwners: { 'bench-qa': f.addr(BUILDER) } };
const inputs: EpochInputs = { epoch: 1, receipts: [], payees: owners as EpochInputs['payees'], stakers: [{ staker: f.addr(0), bonded: parseEther('1000').toString() }], operator: f.addr(0), draws: [] };
const pure = median([0, 1, 2].map(() => {
  const s = performance.now();
  earningsTree(new Map(), epochCredits(inputs, bodies));
  return performance.now() - s;
}));

t0 = performance.now();
const out = await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts });
const wall = (performance.now() - t0) / 1000;
if (out.kind !== 'posted') throw new Error(`epoch not posted: ${JSON.stringify(out)}`);
const payees = new Set(bodies.flatMap((b) => b.contributions.map((c) => c.contributionId))).size + 3;
console.log(`epoch job, end to end (select, draws for ${CONSUMERS} consumers, credits, tree, store inputs, post): ${wall.toFixed(1)} s for ${out.receipts.toLocaleString('en')} receipts = ${((out.receipts / wall)).toFixed(0)} receipts/s`);
console.log(`  of which credits + Merkle tree (pure, median of 3): ${(pure / 1000).toFixed(2)} s`);
console.log(`baseline: direct payment needs ${(RECEIPTS * (PER + 3)).toLocaleString('en')} ERC-20 transfers (one per payee per inference); the epoch needs 1 postEpoch + at most ${payees} claims (${(RECEIPTS * (PER + 3) / (1 + payees)).toFixed(0)}× fewer transactions)`);
await f.stop();
