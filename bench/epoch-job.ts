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
import { BUILDER } from '../src/factory/test-context.ts';
import { runEpoch } from '../src/settlement/epoch.ts';
import { earningsTree, epochCredits, type EpochInputs } from '../src/settlement/epoch-tree.ts';
import { epochFixture } from './_epoch-fixture.ts';

const { values: opt } = parseArgs({ options: { receipts: { type: 'string', default: '100000' }, consumers: { type: 'string', default: '100' }, contributions: { type: 'string', default: '5' } }, strict: false });
const RECEIPTS = Number(opt.receipts), CONSUMERS = Number(opt.consumers), PER = Number(opt.contributions);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { f, bodies, writeSeconds } = await epochFixture({ receipts: RECEIPTS, consumers: CONSUMERS, contributions: PER });
console.log(`${RECEIPTS.toLocaleString('en')} receipts × ${PER} contributions by ${CONSUMERS} consumers written in ${writeSeconds.toFixed(1)} s`);

// the pure part alone: credits and the tree (median of 3)
const owners = { contributors: Object.fromEntries((await f.db.query<{ id: string; contributor: Hex }>('select id, contributor from contributions')).map((r) => [r.id, r.contributor])), datanetOwners: { [String(f.snapshot.datanetId)]: f.addr(1) }, modelOwners: { 'bench-qa': f.addr(BUILDER) } };
const inputs: EpochInputs = { epoch: 1, receipts: [], payees: owners as EpochInputs['payees'], stakers: [{ staker: f.addr(0), bonded: parseEther('1000').toString() }], operator: f.addr(0), draws: [] };
const pure = median([0, 1, 2].map(() => {
  const s = performance.now();
  earningsTree(new Map(), epochCredits(inputs, bodies));
  return performance.now() - s;
}));

const t0 = performance.now();
const out = await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts });
const wall = (performance.now() - t0) / 1000;
if (out.kind !== 'posted') throw new Error(`epoch not posted: ${JSON.stringify(out)}`);
const payees = new Set(bodies.flatMap((b) => b.contributions.map((c) => c.contributionId))).size + 3;
console.log(`epoch job, end to end (select, draws for ${CONSUMERS} consumers, credits, tree, store inputs, post): ${wall.toFixed(1)} s for ${out.receipts.toLocaleString('en')} receipts = ${((out.receipts / wall)).toFixed(0)} receipts/s`);
console.log(`  of which credits + Merkle tree (pure, median of 3): ${(pure / 1000).toFixed(2)} s`);
console.log(`baseline: direct payment needs ${(RECEIPTS * (PER + 3)).toLocaleString('en')} ERC-20 transfers (one per payee per inference); the epoch needs 1 postEpoch + at most ${payees} claims (${(RECEIPTS * (PER + 3) / (1 + payees)).toFixed(0)}× fewer transactions)`);
await f.stop();
