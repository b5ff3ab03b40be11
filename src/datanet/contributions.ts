import { getAddress, type Address, type Hex } from 'viem';
import type { Queryable } from '../store/database.ts';
import type { Contribution, ContributionRecord } from './datanet-types.ts';
import { DatanetError, notFound } from './errors.ts';

/** The record a stored row holds: canonical JSON for objects, the text itself for text. */
export function storedRecord(row: { kind: 'object' | 'text'; content: string }): ContributionRecord {
  return row.kind === 'object' ? (JSON.parse(row.content) as Record<string, unknown>) : row.content;
}

interface Row {
  id: string;
  datanet_id: string;
  contributor: string;
  content_hash: string;
  kind: 'object' | 'text';
  content: string;
  size: number;
  status: Contribution['status'];
  reason: string | null;
  spam: boolean;
  upload_id: string | null;
  consent_id: string | null;
  record_index: number | null;
  batch_id: string | null;
  decided_by: string | null;
  created_at: Date;
}

const COLUMNS = 'id, datanet_id, contributor, content_hash, kind, content, size, status, reason, spam, upload_id, consent_id, record_index, batch_id, decided_by, created_at';

function toContribution(r: Row): Contribution {
  return {
    id: r.id as Hex,
    datanetId: Number(r.datanet_id),
    contributor: r.contributor as Address,
    contentHash: r.content_hash as Hex,
    record: storedRecord(r),
    size: r.size,
    status: r.status,
    reason: r.reason,
    spam: r.spam,
    uploadId: r.upload_id,
    consentId: r.consent_id === null ? null : Number(r.consent_id),
    recordIndex: r.record_index,
    batchId: r.batch_id === null ? null : Number(r.batch_id),
    decidedBy: r.decided_by as Address | null,
    createdAt: r.created_at.toISOString(),
  };
}

/**
 * A contribution by id; a 404 {@link DatanetError} if there is none.
 *
 * @example
 * const c = await getContribution(db, '0x…');
 */
export async function getContribution(db: Queryable, id: Hex): Promise<Contribution> {
  const [row] = await db.query<Row>(`select ${COLUMNS} from contributions where id = $1`, [id.toLowerCase()]);
  if (!row) throw notFound(`contribution ${id}`);
  return toContribution(row);
}

/** Filters and page of {@link listContributions}. */
export interface ContributionQuery {
  datanetId?: number;
  contributor?: Address;
  status?: Contribution['status'];
  /** Node-local snapshot id. */
  snapshotId?: number;
  /** Return contributions created before this cursor (from the previous page's `next`). */
  before?: string;
  limit: number;
}

/**
 * Lists contributions, newest first, filtered by datanet, contributor, status or snapshot, with a
 * keyset cursor (`next` of a page is the `before` of the next one).
 *
 * @example
 * const { contributions, next } = await listContributions(db, { datanetId: 1, status: 'pending', limit: 50 });
 */
export async function listContributions(db: Queryable, q: ContributionQuery): Promise<{ contributions: Contribution[]; next: string | null }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.datanetId !== undefined) where.push(`datanet_id = $${params.push(q.datanetId)}`);
  if (q.contributor) where.push(`lower(contributor) = lower($${params.push(q.contributor)})`);
  if (q.status) where.push(`status = $${params.push(q.status)}`);
  if (q.snapshotId !== undefined) where.push(`id in (select contribution_id from snapshot_members where snapshot_id = $${params.push(q.snapshotId)})`);
  if (q.before) {
    const [at, id] = decodeCursor(q.before);
    where.push(`(created_at, id) < ($${params.push(at)}::timestamptz, $${params.push(id)})`);
  }
  const rows = await db.query<Row & { cursor_at: string }>(
    `select ${COLUMNS}, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at from contributions ${where.length ? `where ${where.join(' and ')}` : ''}
     order by created_at desc, id desc limit $${params.push(q.limit)}`,
    params,
  );
  const contributions = rows.map(toContribution);
  const last = rows.at(-1);
  return { contributions, next: rows.length === q.limit && last ? encodeCursor(last.cursor_at, last.id) : null };
}

/** The cursor keeps the timestamp at Postgres's microsecond precision (a JS Date would cut it to ms). */
function encodeCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at))) throw new DatanetError('bad_cursor', 'the cursor is malformed; pass the `next` of the previous page');
  return [at, id];
}

/**
 * Every contribution of a snapshot, in contribution-id order (the order of the snapshot's Merkle
 * leaves), read in pages so a large snapshot is never held at once.
 *
 * @example
 * for await (const c of snapshotContributions(db, snapshot.id)) examples.push(toExample(c));
 */
export async function* snapshotContributions(db: Queryable, snapshotId: number, pageSize = 500): AsyncGenerator<Contribution> {
  let after = '';
  for (;;) {
    const rows = await db.query<Row>(
      `select ${COLUMNS} from contributions where id in (select contribution_id from snapshot_members where snapshot_id = $1) and id > $2 order by id limit $3`,
      [snapshotId, after, pageSize],
    );
    for (const r of rows) yield toContribution(r);
    if (rows.length < pageSize) return;
    after = rows.at(-1)!.id;
  }
}

/**
 * The content hash and contributor of each of the given contributions that is stored, in id order:
 * what makes a contribution id checkable by anyone (id = keccak256(abi.encode(contentHash, contributor))).
 *
 * @example
 * const keys = await contributionKeys(db, trainingIds);
 */
export async function contributionKeys(db: Queryable, ids: readonly Hex[]): Promise<Array<{ id: Hex; contentHash: Hex; contributor: Address }>> {
  const rows = await db.query<{ id: Hex; content_hash: Hex; contributor: string }>('select id, content_hash, contributor from contributions where id = any($1) order by id', [ids.map((id) => id.toLowerCase())]);
  return rows.map((r) => ({ id: r.id, contentHash: r.content_hash, contributor: getAddress(r.contributor) }));
}

/**
 * The contributor of each of the given contributions, by id (those not stored are absent).
 *
 * @example
 * const byId = await contributorsOf(db, ['0x…']); // { '0x…': '0xAbC…' }
 */
export async function contributorsOf(db: Queryable, ids: readonly Hex[]): Promise<Record<string, Address>> {
  const rows = await db.query<{ id: string; contributor: string }>('select id, contributor from contributions where id = any($1)', [ids.map((id) => id.toLowerCase())]);
  return Object.fromEntries(rows.map((r) => [r.id, getAddress(r.contributor)]));
}

/**
 * The ids of every contribution of one contributor (any status).
 *
 * @example
 * const ids = await contributionIdsOf(db, contributor);
 */
export async function contributionIdsOf(db: Queryable, contributor: Address): Promise<Hex[]> {
  const rows = await db.query<{ id: Hex }>('select id from contributions where lower(contributor) = lower($1)', [contributor]);
  return rows.map((r) => r.id);
}

/**
 * The stored text of each of the given contributions, by id: a text record as is, an object record
 * as its canonical JSON.
 *
 * @example
 * const texts = await contributionTexts(db, ['0x…']);
 */
export async function contributionTexts(db: Queryable, ids: readonly Hex[]): Promise<Map<Hex, string>> {
  const rows = await db.query<{ id: Hex; content: string }>('select id, content from contributions where id = any($1)', [ids.map((id) => id.toLowerCase())]);
  return new Map(rows.map((r) => [r.id, r.content]));
}
