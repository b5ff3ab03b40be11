import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseError, ContractFunctionRevertedError } from 'viem';
import type { NodeContext } from '../store/node-context.ts';
import { getSnapshot } from '../datanet/snapshots.ts';
import { readModelTokenizer } from '../model/model-dir.ts';
import { createBackoff } from '../util/backoff.ts';
import { repeat, type Repeater } from '../util/repeat.ts';
import { getBaseModel } from './base-models.ts';
import type { TrainingJob, TrainingProgress } from './factory-types.ts';
import { getTrainingJob, recordProgress, updateJob } from './jobs.ts';
import { publishModel } from './publish-model.ts';
import type { BackendChoice } from '../model/create-backend-for.ts';
import { startTrainingThread, type TrainingThread } from './start-training-thread.ts';
import { buildTrainingData } from './training-data.ts';
import { writeTrainingSet } from './training-trace.ts';

export interface FactoryContext extends NodeContext {
  /** Where job folders (training set, checkpoints, outputs) live. */
  jobsDir: string;
  /** Compute threads per job (default: all cores). */
  threads?: number;
  /** The engine backend jobs train on (default the CPU; the node passes `OPENLEDGER_BACKEND`). */
  backend?: BackendChoice;
}

export interface FactoryWorker extends Repeater {
  /** Runs every job that is due, one at a time, until none is left (tests and `openledger train --wait`). */
  drain(): Promise<void>;
}

/** How many times a job whose run crashed (not failed on its data) is started again. */
const MAX_ATTEMPTS = 3;

/**
 * The background loop of ModelFactory: takes the oldest unfinished job and drives it through
 * preparing (snapshot records → tokenised training set on disk), training (in a worker thread,
 * progress recorded every step, cancel honoured between steps), and publishing (blobs, registry,
 * ownership). Every stage resumes after a restart from what is stored: a job found mid-training
 * continues from its last checkpoint.
 *
 * @example
 * const factory = createFactoryWorker(ctx, (err) => log.error(err));
 * factory.start();
 */
export function createFactoryWorker(ctx: FactoryContext, onError: (err: unknown) => void = () => {}): FactoryWorker {
  let thread: TrainingThread | null = null;
  let stopping = false;

  // a job whose publishing failed for a passing reason (the chain or the blob store unreachable)
  // waits with a doubling delay, and the jobs behind it go on meanwhile
  const backoff = createBackoff({ baseMs: 5_000, maxMs: 600_000 });
  const nextJob = async (): Promise<TrainingJob | null> => {
    const rows = await ctx.db.query<{ id: string }>(
      `select id from training_jobs where status in ('queued', 'preparing', 'training', 'publishing') order by created_at limit 100`,
    );
    const row = rows.find((r) => backoff.due(r.id));
    return row ? getTrainingJob(ctx.db, row.id) : null;
  };

  const fail = async (job: TrainingJob, message: string) => {
    await updateJob(ctx.db, job.id, 'failed', { error: message, finished_at: new Date() });
  };

  const prepare = async (job: TrainingJob) => {
    const base = await getBaseModel(ctx.db, job.baseModelId);
    const tokenizer = await readModelTokenizer(base.path);
    const snapshots = await Promise.all(job.snapshotIds.map((id) => getSnapshot(ctx.db, id)));
    const hp = job.hyperparameters;
    const maxSequenceLength = Math.min(hp.maxSequenceLength, base.config.maxPositions);
    const data = await buildTrainingData(ctx.db, tokenizer, snapshots, job.template, { maxSequenceLength, heldOutFraction: hp.heldOutFraction, seed: hp.seed });
    const examples = { train: data.train.length, heldOut: data.heldOut.length, skipped: data.skipped.length };
    if (data.train.length === 0) {
      const why = data.skipped[0] ? ` (e.g. ${data.skipped[0].contributionId}: ${data.skipped[0].reason})` : '';
      await updateJob(ctx.db, job.id, 'failed', { examples, error: `no usable training examples in the snapshots${why}`, finished_at: new Date() });
      return;
    }
    const dir = join(ctx.jobsDir, job.id);
    await mkdir(dir, { recursive: true });
    await writeTrainingSet(dir, data);
    await updateJob(ctx.db, job.id, 'training', { examples });
  };

  const train = async (job: TrainingJob) => {
    const base = await getBaseModel(ctx.db, job.baseModelId);
    await updateJob(ctx.db, job.id, 'training', { attempts: job.attempts + 1, started_at: job.startedAt ? new Date(job.startedAt) : new Date() });
    let pending: Promise<void> = Promise.resolve();
    const report = (p: TrainingProgress) => {
      pending = pending.then(() => recordProgress(ctx.db, job.id, p)).catch(onError);
    };
    thread = startTrainingThread(
      { baseModelDir: base.path, jobDir: join(ctx.jobsDir, job.id), hyperparameters: job.hyperparameters, baseModelId: base.id, ...(ctx.threads ? { threads: ctx.threads } : {}), ...(ctx.backend ? { backend: ctx.backend } : {}) },
      report,
    );
    const current = thread;
    const watchCancel = setInterval(() => {
      ctx.db.query<{ cancel_requested: boolean }>('select cancel_requested from training_jobs where id = $1', [job.id])
        .then(([r]) => r?.cancel_requested && current.cancel())
        .catch(onError);
    }, 1000);
    try {
      const result = await current.result;
      await pending;
      if (result.status === 'cancelled') {
        if (!stopping) await updateJob(ctx.db, job.id, 'cancelled', { finished_at: new Date() });
        return;
      }
      await updateJob(ctx.db, job.id, 'publishing', { evaluation: result.evaluation });
    } catch (err) {
      await pending;
      if (stopping) return;
      const message = err instanceof Error ? err.message : String(err);
      if (job.attempts + 1 >= MAX_ATTEMPTS) await fail(job, `training failed ${MAX_ATTEMPTS} times; last error: ${message}`);
      else onError(err);
    } finally {
      clearInterval(watchCancel);
      thread = null;
    }
  };

  const runOnce = async (): Promise<boolean> => {
    const job = await nextJob();
    if (!job || stopping) return false;
    try {
      if (job.status === 'queued') await updateJob(ctx.db, job.id, 'preparing');
      if (job.status === 'queued' || job.status === 'preparing') await prepare(job);
      else if (job.status === 'training') {
        if (job.cancelRequested) await updateJob(ctx.db, job.id, 'cancelled', { finished_at: new Date() });
        else await train(job);
      } else if (job.status === 'publishing') await publishModel(ctx, job, join(ctx.jobsDir, job.id, 'output'));
    } catch (err) {
      if (stopping) return false;
      const refused = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
      if (job.status === 'publishing' && !(refused instanceof ContractFunctionRevertedError)) {
        backoff.failed(job.id); // chain or blob trouble: retried later, without holding up the queue
        onError(err);
        return true;
      }
      // the registry refused it (e.g. the name was registered by someone else while the job trained): final
      const why = refused instanceof ContractFunctionRevertedError && refused.data?.errorName === 'ModelRegistryNameTaken'
        ? `the name "${job.modelName}" was registered on chain by someone else while the job ran; train again under another name`
        : err instanceof Error ? err.message : String(err);
      await fail(job, why);
    }
    backoff.succeeded(job.id);
    return true;
  };

  const loop = repeat(async () => {
    while (!stopping && (await runOnce()));
  }, 2000, onError);

  return {
    start() {
      stopping = false;
      loop.start();
    },
    async stop() {
      stopping = true;
      const t = thread;
      if (t) {
        t.cancel();
        await Promise.race([t.result.catch(() => {}), new Promise((r) => setTimeout(r, 10_000).unref())]);
        await t.terminate();
      }
      await loop.stop();
    },
    async drain() {
      while (await runOnce());
    },
  };
}
