import { getAddress, type Address } from 'viem';
import type { Queryable } from '../store/database.ts';
import type { Datanet, DatanetRules } from './datanet-types.ts';
import { notFound } from './errors.ts';

interface Row {
  key: string;
  id: string | null;
  owner: string;
  name: string;
  description: string;
  record_schema: Record<string, unknown> | null;
  licence: string;
  contribution_stake: string;
  curation: 'auto' | 'manual';
  near_duplicate_threshold: number;
  rules: DatanetRules;
  metadata_uri: string;
  status: Datanet['status'];
  sent_from_block: string | null;
  created_at: Date;
  curators: string[] | null;
}

const SELECT = `select d.*, (select array_agg(c.address order by c.address) from datanet_curators c where c.datanet_key = d.key) as curators from datanets d`;

function toDatanet(r: Row): Datanet {
  return {
    id: r.id === null ? null : Number(r.id),
    key: Number(r.key),
    owner: r.owner as Address,
    name: r.name,
    description: r.description,
    recordSchema: r.record_schema,
    licence: r.licence,
    contributionStake: r.contribution_stake,
    curators: (r.curators ?? []) as Address[],
    curation: r.curation,
    nearDuplicateThreshold: r.near_duplicate_threshold,
    rules: r.rules,
    metadataURI: r.metadata_uri,
    status: r.status,
    sentFromBlock: r.sent_from_block === null ? null : BigInt(r.sent_from_block),
    createdAt: r.created_at.toISOString(),
  };
}

/**
 * A registered datanet by its on-chain id; throws a 404 {@link DatanetError} if there is none.
 *
 * @example
 * const d = await getDatanet(db, 1);
 */
export async function getDatanet(db: Queryable, id: number): Promise<Datanet> {
  const [row] = await db.query<Row>(`${SELECT} where d.id = $1`, [id]);
  if (!row) throw notFound(`datanet ${id}`);
  return toDatanet(row);
}

/** A datanet by its node-local key, registered or not. */
export async function getDatanetByKey(db: Queryable, key: number): Promise<Datanet> {
  const [row] = await db.query<Row>(`${SELECT} where d.key = $1`, [key]);
  if (!row) throw notFound(`datanet key ${key}`);
  return toDatanet(row);
}

/** Datanets whose registration on chain has not finished (for recovery after a crash). */
export async function unfinishedDatanets(db: Queryable): Promise<Datanet[]> {
  return (await db.query<Row>(`${SELECT} where d.status <> 'active' order by d.key`)).map(toDatanet);
}

/** Filters and page of {@link listDatanets}. */
export interface DatanetQuery {
  /** Words to find in the name or description. */
  q?: string;
  owner?: Address;
  /** Return datanets with an id below this (newest first). */
  before?: number;
  limit: number;
}

/**
 * Lists active datanets, newest first, with keyset pagination on the id.
 *
 * @example
 * const page = await listDatanets(db, { q: 'medical', limit: 20 });
 */
export async function listDatanets(db: Queryable, query: DatanetQuery): Promise<Datanet[]> {
  const where = [`d.status = 'active'`];
  const params: unknown[] = [];
  if (query.q) {
    const pattern = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(`(d.name ilike $${params.push(pattern)} or d.description ilike $${params.length})`);
  }
  if (query.owner) where.push(`lower(d.owner) = lower($${params.push(query.owner)})`);
  if (query.before !== undefined) where.push(`d.id < $${params.push(query.before)}`);
  const rows = await db.query<Row>(`${SELECT} where ${where.join(' and ')} order by d.id desc limit $${params.push(query.limit)}`, params);
  return rows.map(toDatanet);
}

/** Whether `address` may curate `datanet` (its owner or one of its curators). */
export function canCurate(datanet: Datanet, address: Address): boolean {
  const a = address.toLowerCase();
  return datanet.owner.toLowerCase() === a || datanet.curators.some((c) => c.toLowerCase() === a);
}


/**
 * The owner of each of the given registered datanets, by id (as its owner is projected from the
 * DatanetRegistry's events).
 *
 * @example
 * const owners = await datanetOwners(db, [1, 2]); // { '1': '0x…', '2': '0x…' }
 */
export async function datanetOwners(db: Queryable, ids: readonly (number | string)[]): Promise<Record<string, Address>> {
  const rows = await db.query<{ id: string; owner: string }>('select id::text, owner from datanets where id = any($1::bigint[])', [ids.map(String)]);
  return Object.fromEntries(rows.map((r) => [r.id, getAddress(r.owner)]));
}
