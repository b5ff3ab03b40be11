/**
 * The watchtower's cost: how long another node takes to recompute an operator's epoch from its
 * served inputs (`watchEpochs` → `auditEpoch`: every receipt's signature, the fee splits, the
 * cumulative tree and root, the payees against the chain), per 1,000 receipts, beside the baseline
 * measured in the same run: the operator's own epoch job (select, credits, tree, store, post) for
 * the same receipts. Real chain (anvil) and stores (PGlite); the inputs are handed over in process
 * (no HTTP), so this is the recomputation alone.
 *
 * Run: `npm run bench -- network` (options: --receipts=2000 --consumers=20 --contributions=5)
 */
import { parseArgs } from 'node:util';
import { createIndexer } from '../src/chain/indexer.ts';
import { indexedContracts } from '../src/chain/protocol.ts';
import { runEpoch } from '../src/settlement/epoch.ts';
import { readServedEpoch } from '../src/settlement/epoch-inputs.ts';
import { watchEpochs } from '../src/settlement/watchtower.ts';
import { chainEventSink } from '../src/store/chain-events.ts';
import { openDatabase } from '../src/store/database.ts';
import { migrate } from '../src/store/migrate.ts';
import { epochFixture } from './_epoch-fixture.ts';

const { values: opt } = parseArgs({ options: { receipts: { type: 'string', default: '2000' }, consumers: { type: 'string', default: '20' }, contributions: { type: 'string', default: '5' } }, strict: false });
const RECEIPTS = Number(opt.receipts), CONSUMERS = Number(opt.consumers), PER = Number(opt.contributions);
const WATCHER = 8;

const { f, writeSeconds } = await epochFixture({ receipts: RECEIPTS, consumers: CONSUMERS, contributions: PER, sign: true });
console.log(`${RECEIPTS.toLocaleString('en')} signed receipts × ${PER} contributions by ${CONSUMERS} consumers written in ${writeSeconds.toFixed(1)} s`);

let t0 = performance.now();
const posted = await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts });
const job = (performance.now() - t0) / 1000;
if (posted.kind !== 'posted') throw new Error(`epoch not posted: ${JSON.stringify(posted)}`);

// another node: its own store, its index of the chain, its account
const db = await openDatabase({ memory: true });
await migrate(db);
const watcher = { db, clients: await f.t.clients(WATCHER), contracts: await f.t.as(WATCHER) };
await createIndexer({ client: watcher.clients.publicClient, chainId: 31337, contracts: indexedContracts(f.t.addresses), sink: chainEventSink(db) }).runOnce();
t0 = performance.now();
const verdicts = await watchEpochs(watcher, { dispute: false, served: async (uri) => (await readServedEpoch(f.db, Number(/epochs\/(\d+)/.exec(uri)?.[1] ?? posted.epoch)))! });
const watch = (performance.now() - t0) / 1000;
const verdict = verdicts.find((v) => v.epoch === posted.epoch);
if (verdict?.verdict !== 'ok') throw new Error(`the watchtower did not find the epoch right: ${JSON.stringify(verdict)}`);

const per1k = (s: number) => (s * 1000) / posted.receipts;
console.log(`watchtower recomputation of epoch ${posted.epoch} (${posted.receipts.toLocaleString('en')} receipts, verdict ${verdict.verdict}): ${watch.toFixed(2)} s = ${per1k(watch).toFixed(2)} s per 1,000 receipts`);
console.log(`baseline, the operator's epoch job for the same receipts: ${job.toFixed(2)} s = ${per1k(job).toFixed(2)} s per 1,000 receipts; watchtower / epoch job = ${(watch / job).toFixed(2)}×`);
await db.close();
await f.stop();
