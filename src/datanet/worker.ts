import type { Hex } from 'viem';
import { anchorContributions } from './anchor-batches.ts';
import type { DatanetContext } from './context.ts';
import { slashContributor } from './curate.ts';
import { unfinishedDatanets } from './datanets.ts';
import { registerDatanet } from './register-datanet.ts';
import { recordSnapshot, unrecordedSnapshots } from './snapshots.ts';
import { processUpload, unfinishedUploads } from './uploads.ts';
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
 * serves) finishes the datanet registrations, snapshot recordings, spam slashes and uploads that a
 * crash left half done; every pass anchors every datanet's accepted, unanchored contributions in
 * batches (one Merkle root per batch). Passes repeat every `intervalMs` (default 10 s).
 *
 * @example
 * const worker = createDatanetWorker(ctx, { log: console.log });
 * await worker.runOnce();
 * worker.start();
 */
export function createDatanetWorker(ctx: DatanetContext, options: { intervalMs?: number; log?: (m: string) => void } = {}): DatanetWorker {
  const log = options.log ?? (() => {});
  // Recovery runs once, before the API serves: later, a datanet in 'creating' or a snapshot in
  // 'building' may be a request in flight, and finishing it from here too would race with it.
  let recovered = false;
  async function runOnce(): Promise<WorkerPass> {
    const pass: WorkerPass = { registered: 0, snapshots: 0, slashes: 0, uploads: 0, batches: 0 };
    if (!recovered) await recover(pass);
    recovered = true;
    const waiting = await ctx.db.query<{ datanet_id: string }>(
      `select distinct datanet_id from contributions where status = 'accepted' and batch_id is null
       union select distinct datanet_id from anchor_batches where status = 'open'`,
    );
    for (const w of waiting) pass.batches += (await anchorContributions(ctx, Number(w.datanet_id))).length;
    if (pass.registered + pass.snapshots + pass.slashes + pass.uploads + pass.batches > 0) {
      log(`datanets: ${pass.registered} registered, ${pass.snapshots} snapshots recorded, ${pass.slashes} slashes, ${pass.uploads} uploads processed, ${pass.batches} batches anchored`);
    }
    return pass;
  }

  async function recover(pass: WorkerPass): Promise<void> {
    for (const d of await unfinishedDatanets(ctx.db)) {
      await registerDatanet(ctx, d);
      pass.registered++;
    }
    for (const { snapshot, sentFromBlock } of await unrecordedSnapshots(ctx.db)) {
      await recordSnapshot(ctx, snapshot, sentFromBlock);
      pass.snapshots++;
    }
    const slashes = await ctx.db.query<{ id: string; datanet_id: string; contributor: string; content_hash: string }>(
      `select id, datanet_id, contributor, content_hash from contributions where slash_status = 'pending'`,
    );
    for (const s of slashes) {
      await slashContributor(ctx, { id: s.id as Hex, datanetId: Number(s.datanet_id), contributor: s.contributor as Hex, contentHash: s.content_hash as Hex });
      pass.slashes++;
    }
    for (const id of await unfinishedUploads(ctx.db)) {
      await processUpload(ctx, id);
      pass.uploads++;
    }
  }

  const loop = repeat(runOnce, options.intervalMs ?? 10_000, (err) => log(`datanets: worker pass failed: ${(err as Error).message}`));
  return { runOnce, start: loop.start, stop: loop.stop };
}
