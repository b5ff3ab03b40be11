import type { Hex } from 'viem';
import { anchorContributions } from './anchor-batches.ts';
import type { NodeContext } from '../store/node-context.ts';
import { slashContributor } from './curate.ts';
import { unfinishedDatanets } from './datanets.ts';
import { registerDatanet } from './register-datanet.ts';
import { recordSnapshot, unrecordedSnapshots } from './snapshots.ts';
import { processUpload, unfinishedUploads } from './uploads.ts';
import { clearWorkerFailure, recordWorkerFailure } from '../store/worker-failures.ts';
import { createBackoff } from '../util/backoff.ts';
import { repeat, type Repeater } from '../util/repeat.ts';

/** What one pass of the worker did. */
export interface WorkerPass {
  registered: number;
  snapshots: number;
  slashes: number;
  uploads: number;
  batches: number;
}

/** The datanet worker: finishes what a crash interrupted and anchors accepted contributions. */
export interface DatanetWorker extends Repeater {
  runOnce(): Promise<WorkerPass>;
}

/**
 * Creates the background worker of the datanet module. Its first pass (at start-up, before the API
 * serves) collects the datanet registrations, snapshot recordings, spam slashes and uploads that a
 * crash left half done and finishes them; every pass anchors every datanet's accepted, unanchored
 * contributions in batches (one Merkle root per batch). Passes repeat every `intervalMs` (default
 * 10 s).
 *
 * Each item is tried on its own: one that fails (a stake the chain cannot take, a datanet whose
 * owner removed the node as curator, a broken upload) is recorded in `worker_failures`, retried on
 * later passes with a delay doubling from `retryBaseMs` (default 10 s) to an hour, and never stops
 * the other items, the start-up or the API.
 *
 * @example
 * const worker = createDatanetWorker(ctx, { log: console.log });
 * await worker.runOnce();
 * worker.start();
 */
export function createDatanetWorker(ctx: NodeContext, options: { intervalMs?: number; retryBaseMs?: number; log?: (m: string) => void } = {}): DatanetWorker {
  const log = options.log ?? (() => {});
  const backoff = createBackoff({ baseMs: options.retryBaseMs ?? 10_000, maxMs: 3_600_000 });
  // Recovery items are collected once, before the API serves: later, a datanet in 'creating' or a
  // snapshot in 'building' may be a request in flight, and finishing it from here too would race
  // with it. Those that fail stay here and are retried.
  let recovery: Map<string, { count: keyof WorkerPass; run: () => Promise<unknown> }> | null = null;

  /** Runs one item unless it is backing off; records its failure or clears its record. */
  async function attempt(item: string, work: () => Promise<unknown>): Promise<boolean> {
    if (!backoff.due(item)) return false;
    const wasFailing = backoff.failing().includes(item);
    try {
      await work();
      backoff.succeeded(item);
      if (wasFailing) await clearWorkerFailure(ctx.db, item).catch(() => {});
      return true;
    } catch (err) {
      const { attempts, nextAt } = backoff.failed(item);
      log(`datanets: ${item} failed (attempt ${attempts}, retried in ${Math.round((nextAt - Date.now()) / 1000)} s): ${(err as Error).message}`);
      await recordWorkerFailure(ctx.db, item, err, attempts, nextAt).catch(() => {});
      return false;
    }
  }

  async function runOnce(): Promise<WorkerPass> {
    const pass: WorkerPass = { registered: 0, snapshots: 0, slashes: 0, uploads: 0, batches: 0 };
    recovery ??= await recoveryItems();
    for (const [item, r] of recovery) {
      if (!(await attempt(item, r.run))) continue;
      recovery.delete(item);
      pass[r.count]++;
    }
    const waiting = await ctx.db.query<{ datanet_id: string }>(
      `select distinct datanet_id from contributions where status = 'accepted' and batch_id is null
       union select distinct datanet_id from anchor_batches where status = 'open'`,
    );
    for (const w of waiting) {
      await attempt(`anchor:datanet:${w.datanet_id}`, async () => (pass.batches += (await anchorContributions(ctx, Number(w.datanet_id))).length));
    }
    if (pass.registered + pass.snapshots + pass.slashes + pass.uploads + pass.batches > 0) {
      log(`datanets: ${pass.registered} registered, ${pass.snapshots} snapshots recorded, ${pass.slashes} slashes, ${pass.uploads} uploads processed, ${pass.batches} batches anchored`);
    }
    return pass;
  }

  async function recoveryItems() {
    const items = new Map<string, { count: keyof WorkerPass; run: () => Promise<unknown> }>();
    for (const d of await unfinishedDatanets(ctx.db)) items.set(`register:datanet-key:${d.key}`, { count: 'registered', run: () => registerDatanet(ctx, d) });
    for (const { snapshot, sentFromBlock } of await unrecordedSnapshots(ctx.db)) {
      items.set(`record:snapshot:${snapshot.id}`, { count: 'snapshots', run: () => recordSnapshot(ctx, snapshot, sentFromBlock) });
    }
    const slashes = await ctx.db.query<{ id: string; datanet_id: string; contributor: string; content_hash: string; consent_id: string | null }>(
      `select id, datanet_id, contributor, content_hash, consent_id from contributions where slash_status = 'pending'`,
    );
    for (const s of slashes) {
      const c = { id: s.id as Hex, datanetId: Number(s.datanet_id), contributor: s.contributor as Hex, contentHash: s.content_hash as Hex, consentId: s.consent_id === null ? null : Number(s.consent_id) };
      items.set(`slash:contribution:${s.id}`, { count: 'slashes', run: () => slashContributor(ctx, c) });
    }
    for (const id of await unfinishedUploads(ctx.db)) items.set(`process:upload:${id}`, { count: 'uploads', run: () => processUpload(ctx, id) });
    return items;
  }

  const loop = repeat(runOnce, options.intervalMs ?? 10_000, (err) => log(`datanets: worker pass failed: ${(err as Error).message}`));
  return { runOnce, start: loop.start, stop: loop.stop };
}
