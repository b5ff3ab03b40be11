import { getAddress, type Address, type Hex } from 'viem';
import type { Queryable } from '../store/database.ts';
import { FactoryError } from './errors.ts';

/** A model ModelFactory published: its adapter, its base, its trace, its price. */
export interface PublishedModel {
  name: string;
  /** ModelRegistry id. */
  modelId: string;
  owner: Address;
  /** The training job that made it here; null for a model another node trained (mirrored). */
  jobId: string | null;
  baseModelId: Hex;
  adapterHash: Hex;
  adapterConfigBlob: Hex;
  traceBlob: Hex;
  pricePer1kTokens: string;
}

interface Row {
  model_name: string; model_id: string; owner: string; id: string | null; base_model_id: string; adapter_hash: string;
  adapter_config_blob: string; trace_blob: string; price_per_1k: string; active: boolean;
}

const toPublished = (r: Row): PublishedModel => ({
  name: r.model_name, modelId: r.model_id, owner: r.owner as Address, jobId: r.id, baseModelId: r.base_model_id as Hex, adapterHash: r.adapter_hash as Hex,
  adapterConfigBlob: r.adapter_config_blob as Hex, traceBlob: r.trace_blob as Hex, pricePer1kTokens: r.price_per_1k,
});

/**
 * Published models, as the ModelRegistry now has them: the owner, price and active flag projected
 * from its events (`models_on_chain`) over what the job published — or over what was mirrored from
 * another node (`mirrored_models`) — so a transfer, a price change or a deactivation on chain is
 * what the node pays and charges by. `p` is one row per model and publication.
 */
const PUBLISHED = `select * from (
  select j.model_name, j.model_id::text, coalesce(m.owner, j.owner) as owner, j.id, j.base_model_id, j.adapter_hash,
    j.adapter_config_blob, j.trace_blob, coalesce(m.price_per_1k, j.price_per_1k)::text as price_per_1k, coalesce(m.active, true) as active, j.finished_at as published_at
  from training_jobs j left join models_on_chain m on m.model_id = j.model_id
  where j.status = 'succeeded'
  union all
  select r.name, r.model_id::text, m.owner, null, r.base_model_id, r.adapter_hash, r.adapter_config_blob, r.trace_blob, m.price_per_1k::text, m.active, r.mirrored_at
  from mirrored_models r join models_on_chain m on m.chain_id = r.chain_id and m.model_id = r.model_id
  where not exists (select 1 from training_jobs j where j.model_id = r.model_id and j.status = 'succeeded')) p
  where true`;

/**
 * A published model by name; a 404 when there is none, a 410 when its owner deactivated it on chain.
 *
 * @example
 * const m = await getPublishedModel(db, 'zorvania-qa');
 */
export async function getPublishedModel(db: Queryable, name: string): Promise<PublishedModel> {
  const [row] = await db.query<Row>(`${PUBLISHED} and p.model_name = $1 order by p.published_at desc limit 1`, [name]);
  if (!row) throw new FactoryError('model_not_found', `no published model "${name}"`);
  if (!row.active) throw new FactoryError('model_deactivated', `model "${name}" was deactivated in the ModelRegistry by its owner`);
  return toPublished(row);
}

/** Every published model still active, newest first. */
export async function listPublishedModels(db: Queryable): Promise<PublishedModel[]> {
  return (await db.query<Row>(`${PUBLISHED} and p.active order by p.published_at desc`)).map(toPublished);
}

/**
 * The owner of each named model, as the ModelRegistry has it now (active or not: a model's
 * receipts are paid after it is deactivated too).
 *
 * @example
 * const owners = await publishedModelOwners(db, ['zorvania-qa']); // { 'zorvania-qa': '0x…' }
 */
export async function publishedModelOwners(db: Queryable, names: string[]): Promise<Record<string, Address>> {
  const rows = await db.query<Row>(`select distinct on (q.model_name) * from (${PUBLISHED} and p.model_name = any($1)) q order by q.model_name`, [names]);
  return Object.fromEntries(rows.map((r) => [r.model_name, getAddress(r.owner)]));
}

/**
 * The published models whose training used any of `snapshotIds`, newest first.
 *
 * @example
 * const models = await modelsTrainedOn(db, [1, 2]);
 */
export async function modelsTrainedOn(db: Queryable, snapshotIds: number[]): Promise<Array<{ name: string; modelId: string | null; jobId: string; owner: Address; snapshotIds: number[]; finishedAt: string | null }>> {
  if (snapshotIds.length === 0) return [];
  const rows = await db.query<{ id: string; model_name: string; model_id: string | null; owner: string; snapshot_ids: string[]; finished_at: Date | null }>(
    `select id, model_name, model_id::text, owner, snapshot_ids::text[] as snapshot_ids, finished_at from training_jobs
      where status = 'succeeded' and snapshot_ids && $1::bigint[]
      order by finished_at desc nulls last`,
    [snapshotIds],
  );
  return rows.map((m) => ({ name: m.model_name, modelId: m.model_id, jobId: m.id, owner: m.owner as Address, snapshotIds: m.snapshot_ids.map(Number), finishedAt: m.finished_at?.toISOString() ?? null }));
}
