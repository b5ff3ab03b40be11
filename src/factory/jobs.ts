import { randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { getAddress, keccak256, stringToBytes, type Address, type Hex } from 'viem';
import type { NodeContext } from '../store/node-context.ts';
import type { Snapshot } from '../datanet/datanet-types.ts';
import { getSnapshot } from '../datanet/snapshots.ts';
import type { Queryable } from '../store/database.ts';
import { getBaseModel } from './base-models.ts';
import { FactoryError } from './errors.ts';
import type { Evaluation, JobStatus, ProgressPoint, TrainingJob, TrainingProgress } from './factory-types.ts';
import type { Hyperparameters } from './hyperparameters.ts';
import { jobRequestSchema, type JobRequest } from './job-request.ts';
import type { PromptTemplate } from './template.ts';

interface Row {
  id: string; owner: string; model_name: string; base_model_id: string; snapshot_ids: string[]; template: PromptTemplate;
  hyperparameters: Hyperparameters; price_per_1k: string; config_hash: string; status: JobStatus; cancel_requested: boolean;
  attempts: number; step: number; total_steps: number | null; progress: TrainingProgress | null; evaluation: Evaluation | null;
  examples: TrainingJob['examples']; adapter_hash: string | null; adapter_blob: string | null; adapter_config_blob: string | null;
  trace_blob: string | null; metadata_blob: string | null; model_id: string | null; tx_hash: string | null; sent_from_block: string | null;
  error: string | null; created_at: Date; started_at: Date | null; finished_at: Date | null;
}

const toJob = (r: Row): TrainingJob => ({
  id: r.id, owner: r.owner as Address, modelName: r.model_name, baseModelId: r.base_model_id as Hex, snapshotIds: r.snapshot_ids.map(Number),
  template: r.template, hyperparameters: r.hyperparameters, pricePer1kTokens: r.price_per_1k, configHash: r.config_hash as Hex,
  status: r.status, cancelRequested: r.cancel_requested, attempts: r.attempts, step: r.step, totalSteps: r.total_steps,
  progress: r.progress, evaluation: r.evaluation, examples: r.examples, adapterHash: r.adapter_hash as Hex | null,
  adapterBlob: r.adapter_blob as Hex | null, adapterConfigBlob: r.adapter_config_blob as Hex | null, traceBlob: r.trace_blob as Hex | null,
  metadataBlob: r.metadata_blob as Hex | null, modelId: r.model_id, txHash: r.tx_hash as Hex | null,
  sentFromBlock: r.sent_from_block === null ? null : BigInt(r.sent_from_block), error: r.error,
  createdAt: r.created_at.toISOString(), startedAt: r.started_at?.toISOString() ?? null, finishedAt: r.finished_at?.toISOString() ?? null,
});

export { jobRequestSchema, type JobRequest } from './job-request.ts';

/** Jobs one account may have queued or running at once (the node trains one at a time). */
export const MAX_ACTIVE_JOBS_PER_OWNER = 3;

/**
 * The hash a model's registration carries as its training configuration: keccak256 of the
 * canonical JSON of the base model, the snapshot roots, the template and every hyperparameter.
 *
 * @example
 * const configHash = trainingConfigHash(base.id, snapshots, template, hyperparameters);
 */
export function trainingConfigHash(baseModelId: Hex, snapshots: readonly Snapshot[], template: PromptTemplate, hyperparameters: Hyperparameters): Hex {
  const config = { version: 1, baseModel: baseModelId, snapshots: snapshots.map((s) => s.root).sort(), template, hyperparameters };
  return keccak256(stringToBytes(canonicalize(config)!));
}

/**
 * Queues a fine-tuning job for `owner` after checking what can be checked at once: the base model
 * exists, every snapshot is recorded on chain, the model name is free — no base model is called
 * that (a published model would shadow it and charge for it), no job is under way under it, and
 * the ModelRegistry has no model of that name. The name is reserved for the job from then on.
 *
 * @example
 * const job = await createTrainingJob(ctx, owner, { modelName: 'zorvania-qa', baseModel: 'openledger-tiny', snapshotIds: [1] });
 */
export async function createTrainingJob(ctx: NodeContext, owner: Address, request: JobRequest): Promise<TrainingJob> {
  const r = jobRequestSchema.parse(request);
  const base = await getBaseModel(ctx.db, r.baseModel);
  const snapshots: Snapshot[] = [];
  for (const id of new Set(r.snapshotIds)) {
    const s = await getSnapshot(ctx.db, id);
    if (s.status !== 'recorded') throw new FactoryError('snapshot_not_recorded', `snapshot ${id} is not recorded on chain yet; try again in a few seconds`);
    snapshots.push(s);
  }
  const [active] = await ctx.db.query<{ n: number }>(`select count(*)::int as n from training_jobs where lower(owner) = lower($1) and status in ('queued', 'preparing', 'training', 'publishing')`, [owner]);
  if (active!.n >= MAX_ACTIVE_JOBS_PER_OWNER) throw new FactoryError('too_many_jobs', `${owner} has ${active!.n} jobs queued or running; at most ${MAX_ACTIVE_JOBS_PER_OWNER} at once (cancel one or wait)`);
  const [shadowed] = await ctx.db.query<{ name: string }>('select name from base_models where lower(name) = lower($1)', [r.modelName]);
  if (shadowed) throw new FactoryError('name_taken', `"${r.modelName}" is the name of a base model ("${shadowed.name}"); a published model may not shadow it`);
  const onChainId = await ctx.contracts.modelRegistry.read.modelIdByName([r.modelName]);
  if (onChainId !== 0n) throw new FactoryError('name_taken', `a model called "${r.modelName}" is already registered`);
  const configHash = trainingConfigHash(base.id, snapshots, r.template, r.hyperparameters);
  // on conflict rather than catching the unique violation: a failed statement breaks PGlite's
  // node-postgres connection (see docs/decisions/0011-model-factory.md)
  const [row] = await ctx.db.query<Row>(
    `insert into training_jobs (id, owner, model_name, base_model_id, snapshot_ids, template, hyperparameters, price_per_1k, config_hash, status)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued')
     on conflict (model_name) where status not in ('failed', 'cancelled') do nothing returning *`,
    [randomUUID(), getAddress(owner), r.modelName, base.id, snapshots.map((s) => s.id), JSON.stringify(r.template), JSON.stringify(r.hyperparameters), r.pricePer1kTokens, configHash],
  );
  if (!row) throw new FactoryError('name_taken', `a job for a model called "${r.modelName}" is already under way`);
  return toJob(row);
}

/** A job by id. */
export async function getTrainingJob(db: Queryable, id: string): Promise<TrainingJob> {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new FactoryError('not_found', `no training job ${id}`);
  const [row] = await db.query<Row>('select * from training_jobs where id = $1', [id]);
  if (!row) throw new FactoryError('not_found', `no training job ${id}`);
  return toJob(row);
}

/**
 * Jobs, newest first, optionally of one owner or status.
 *
 * @example
 * const mine = await listTrainingJobs(db, { owner });
 */
export async function listTrainingJobs(db: Queryable, q: { owner?: Address; status?: JobStatus; limit?: number } = {}): Promise<TrainingJob[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.owner) where.push(`lower(owner) = lower($${params.push(q.owner)})`);
  if (q.status) where.push(`status = $${params.push(q.status)}`);
  const rows = await db.query<Row>(
    `select * from training_jobs ${where.length ? `where ${where.join(' and ')}` : ''} order by created_at desc limit $${params.push(q.limit ?? 100)}`,
    params,
  );
  return rows.map(toJob);
}

/**
 * Asks a job to stop: a queued job is cancelled at once; a running one stops at its next step
 * (after a checkpoint). Only its owner may cancel it.
 *
 * @example
 * await cancelTrainingJob(db, jobId, owner);
 */
export async function cancelTrainingJob(db: Queryable, id: string, by: Address): Promise<TrainingJob> {
  const job = await getTrainingJob(db, id);
  if (job.owner.toLowerCase() !== by.toLowerCase()) throw new FactoryError('forbidden', `${by} does not own job ${id}`);
  if (job.status === 'publishing' || job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled') {
    throw new FactoryError('not_cancellable', `job ${id} is ${job.status}`);
  }
  await db.query(
    `update training_jobs set cancel_requested = true, updated_at = now(),
       status = case when status = 'queued' then 'cancelled' else status end,
       finished_at = case when status = 'queued' then now() else finished_at end
     where id = $1`,
    [id],
  );
  return getTrainingJob(db, id);
}

/** The loss curve of a job: one point per optimizer step. */
export async function jobProgress(db: Queryable, id: string, afterStep = 0): Promise<ProgressPoint[]> {
  const rows = await db.query<{ step: number; loss: number; lr: number; grad_norm: number; tokens: number; tokens_per_second: number; at: Date }>(
    'select * from training_progress where job_id = $1 and step > $2 order by step',
    [id, afterStep],
  );
  return rows.map((r) => ({ step: r.step, loss: r.loss, lr: r.lr, gradNorm: r.grad_norm, tokens: r.tokens, tokensPerSecond: r.tokens_per_second, at: r.at.toISOString() }));
}

/** Records a step's progress (idempotent per step: a resumed run may report a step again). */
export async function recordProgress(db: Queryable, id: string, p: TrainingProgress): Promise<void> {
  // after the last step: evaluating the answers, recording the trace (the last step's report, the
  // loss curve and the step count stay; the phase and how far it is are added)
  if (p.phase && p.phase !== 'training') {
    await db.query(`update training_jobs set progress = coalesce(progress, '{}'::jsonb) || $2::jsonb, updated_at = now() where id = $1`, [id, JSON.stringify({ phase: p.phase, phaseDone: p.step, phaseTotal: p.totalSteps })]);
    return;
  }
  await db.query(
    `insert into training_progress (job_id, step, loss, lr, grad_norm, tokens, tokens_per_second) values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (job_id, step) do update set loss = excluded.loss, lr = excluded.lr, grad_norm = excluded.grad_norm, tokens = excluded.tokens, tokens_per_second = excluded.tokens_per_second, at = now()`,
    [id, p.step, p.loss, p.lr, p.gradNorm, p.tokens, p.tokensPerSecond],
  );
  await db.query(`update training_jobs set step = $2, total_steps = $3, progress = $4, updated_at = now() where id = $1`, [id, p.step, p.totalSteps, JSON.stringify(p)]);
}

/** Sets a job's status and any other columns given (snake_case names). */
export async function updateJob(db: Queryable, id: string, status: JobStatus, columns: Record<string, unknown> = {}): Promise<void> {
  const names = Object.keys(columns);
  const sets = names.map((n, i) => `${n} = $${i + 3}`);
  await db.query(`update training_jobs set status = $2, updated_at = now()${sets.length ? ', ' + sets.join(', ') : ''} where id = $1`, [
    id, status, ...names.map((n) => { const v = columns[n]; return v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v; }),
  ]);
}
