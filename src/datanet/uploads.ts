import { randomUUID } from 'node:crypto';
import type { Address, Hex } from 'viem';
import type { Queryable } from '../store/database.ts';
import type { NodeContext } from '../store/node-context.ts';
import type { IngestResult, IngestSummary, Upload } from './datanet-types.ts';
import { getDatanet } from './datanets.ts';
import { DatanetError, notFound } from './errors.ts';
import { ingestRecords } from './ingest-records.ts';
import { parseUpload } from './intake/parse-upload.ts';
import { contentHashesOf } from './consent.ts';
import { settleConsent } from './record-consent.ts';

interface Row {
  id: string;
  datanet_id: string;
  contributor: string;
  filename: string | null;
  format: string | null;
  blob_hash: string;
  consent_id: string | null;
  status: Upload['status'];
  bytes: string;
  records: number;
  accepted: number;
  pending: number;
  rejected: number;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const toUpload = (r: Row): Upload => ({
  id: r.id,
  datanetId: Number(r.datanet_id),
  contributor: r.contributor as Address,
  filename: r.filename,
  format: r.format,
  blobHash: r.blob_hash as Hex,
  bytes: Number(r.bytes),
  consentId: r.consent_id === null ? null : Number(r.consent_id),
  status: r.status,
  records: r.records,
  accepted: r.accepted,
  pending: r.pending,
  rejected: r.rejected,
  error: r.error,
  createdAt: r.created_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
});

/**
 * Records an uploaded file, already stored as a blob, as an upload of `contributor` to the datanet.
 * From here on the upload is durable: if the node dies before it is processed, the worker
 * processes it on restart.
 *
 * @example
 * const id = await recordUpload(db, { datanetId: 1, contributor, blobHash, bytes, filename: 'qa.jsonl' });
 */
export async function recordUpload(
  db: Queryable,
  u: { datanetId: number; contributor: Address; blobHash: Hex; bytes: number; filename?: string; format?: string; consentId?: number },
): Promise<string> {
  const id = randomUUID();
  await db.query(
    `insert into uploads (id, datanet_id, contributor, filename, format, blob_hash, status, bytes, consent_id) values ($1, $2, $3, $4, $5, $6, 'received', $7, $8)`,
    [id, u.datanetId, u.contributor, u.filename ?? null, u.format ?? null, u.blobHash, u.bytes, u.consentId ?? null],
  );
  return id;
}

/** Starts of an upload's processing that ended with the node gone, after which it is not retried. */
export const MAX_UPLOAD_CRASHES = 3;

/**
 * Parses an upload's file from the blob store (JSONL, CSV, TSV, text or Parquet, by its format or
 * file name) and ingests its records ({@link ingestRecords}), recording the counts. Running it again
 * on an upload that a crash interrupted continues where it stopped and stores nothing twice; on a
 * finished upload it does nothing. A file that cannot be read at all marks the upload failed, and
 * so does one whose processing was started {@link MAX_UPLOAD_CRASHES} times and never ended (the
 * node died reading it, e.g. out of memory): start-up does not crash-loop on it.
 *
 * @example
 * const upload = await processUpload(ctx, id);
 */
export async function processUpload(ctx: NodeContext, uploadId: string, onProgress?: (s: IngestSummary) => void): Promise<Upload> {
  const upload = await getUpload(ctx.db, uploadId);
  if (upload.status === 'done' || upload.status === 'failed') return upload;
  // counted before the work and uncounted when it ends in an error: what is left counts the crashes
  const [started] = await ctx.db.query<{ attempts: number }>(`update uploads set status = 'processing', attempts = attempts + 1 where id = $1 returning attempts`, [uploadId]);
  if (started!.attempts > MAX_UPLOAD_CRASHES) {
    await ctx.db.query(`update uploads set status = 'failed', error = $2, finished_at = now() where id = $1`, [uploadId, `processing this file stopped the node ${MAX_UPLOAD_CRASHES} times (out of memory or killed); it is not read again`]);
    return getUpload(ctx.db, uploadId);
  }
  const datanet = await getDatanet(ctx.db, upload.datanetId);
  const read = async () => parseUpload({
    stream: await ctx.blobs.open(upload.blobHash),
    ...(upload.format ? { format: upload.format } : {}),
    ...(upload.filename ? { filename: upload.filename } : {}),
  });
  try {
    // a signed upload is read once to check that its records are those signed, before any is stored
    if (upload.consentId !== null) await settleConsent(ctx, upload.consentId, await contentHashesOf(await read()));
    const parsed = await read();
    const summary = await ingestRecords(ctx, datanet, upload.contributor, parsed, {
      uploadId, ...(upload.consentId !== null ? { consentId: upload.consentId } : {}), ...(onProgress ? { onProgress } : {}),
    });
    await ctx.db.query(
      `update uploads set status = 'done', format = $2, records = $3, accepted = $4, pending = $5, rejected = $6, finished_at = now() where id = $1`,
      [uploadId, parsed.format, summary.records, summary.accepted, summary.pending, summary.rejected],
    );
  } catch (err) {
    await ctx.db.query('update uploads set attempts = attempts - 1 where id = $1', [uploadId]);
    const code = (err as { code?: string }).code;
    if (code !== 'unsupported_format' && code !== 'consent_mismatch') throw err; // transient (store, chain): the worker retries
    await ctx.db.query(`update uploads set status = 'failed', error = $2, finished_at = now() where id = $1`, [uploadId, (err as Error).message]);
  }
  return getUpload(ctx.db, uploadId);
}

/** Uploads one account may have in progress at once. */
export const MAX_OPEN_UPLOADS_PER_ACCOUNT = 2;
/** Bytes one account may upload in 24 hours. */
export const MAX_UPLOAD_BYTES_PER_DAY = 1024 * 1024 * 1024;

/**
 * Whether `contributor` may upload a file to `datanetId` now, checked before a byte is stored:
 * it must have bonded the datanet's contribution stake (every record would be refused anyway),
 * have fewer than {@link MAX_OPEN_UPLOADS_PER_ACCOUNT} uploads in progress and have uploaded less
 * than {@link MAX_UPLOAD_BYTES_PER_DAY} in the last 24 hours (429 with Retry-After otherwise).
 *
 * @example
 * await checkUploadAllowed(ctx, datanet.id, contributor);
 */
export async function checkUploadAllowed(ctx: NodeContext, datanetId: number, contributor: Address): Promise<void> {
  if (!(await ctx.contracts.datanetRegistry.read.canContribute([BigInt(datanetId), contributor]))) {
    throw new DatanetError('insufficient_stake', `${contributor} has not bonded datanet ${datanetId}'s contribution stake; stake first (openledger datanet stake)`);
  }
  const [usage] = await ctx.db.query<{ open: number; bytes: string }>(
    `select count(*) filter (where status in ('received', 'processing'))::int as open, coalesce(sum(bytes) filter (where created_at > now() - interval '24 hours'), 0)::text as bytes
     from uploads where lower(contributor) = lower($1)`, [contributor]);
  if (usage!.open >= MAX_OPEN_UPLOADS_PER_ACCOUNT) throw new UploadQuotaError(`${contributor} has ${usage!.open} uploads in progress; at most ${MAX_OPEN_UPLOADS_PER_ACCOUNT} at once`, 10);
  if (Number(usage!.bytes) >= MAX_UPLOAD_BYTES_PER_DAY) throw new UploadQuotaError(`${contributor} uploaded ${usage!.bytes} bytes in the last 24 hours; at most ${MAX_UPLOAD_BYTES_PER_DAY}`, 3600);
}

/** Over an account's upload quota: 429, with when to retry. */
export class UploadQuotaError extends DatanetError {
  override name = 'UploadQuotaError';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('upload_quota', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** An upload by id; 404 if none. */
export async function getUpload(db: Queryable, id: string): Promise<Upload> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound(`upload ${id}`);
  const [row] = await db.query<Row>('select * from uploads where id = $1', [id]);
  if (!row) throw notFound(`upload ${id}`);
  return toUpload(row);
}

/** Uploads a crash left unprocessed. */
export async function unfinishedUploads(db: Queryable): Promise<string[]> {
  return (await db.query<{ id: string }>(`select id from uploads where status in ('received', 'processing') order by created_at`)).map((r) => r.id);
}

/**
 * What became of each record of an upload, in file order, from record `from` on: accepted or
 * pending ones with their contribution id, rejected ones with the reason.
 *
 * @example
 * const page = await uploadResults(db, id, { from: 0, limit: 100, status: 'rejected' });
 */
export async function uploadResults(
  db: Queryable,
  uploadId: string,
  q: { from: number; limit: number; status?: 'accepted' | 'pending' | 'rejected' },
): Promise<IngestResult[]> {
  const rows = await db.query<{ record_index: number; status: string; id: string | null; reason: string | null; detail: string | null; duplicate_of: string | null }>(
    `select * from (
       select record_index, status, id, case when status = 'rejected' then 'rejected_by_curator' end as reason, reason as detail, id as duplicate_of from contributions where upload_id = $1
       union all
       select record_index, 'rejected', null, reason, detail, duplicate_of from upload_rejections where upload_id = $1
     ) r where record_index >= $2 and ($4::text is null or status = $4) order by record_index limit $3`,
    [uploadId, q.from, q.limit, q.status ?? null],
  );
  return rows.map((r) =>
    r.reason === null
      ? { index: r.record_index, status: r.status as 'accepted' | 'pending', id: r.id as Hex }
      : { index: r.record_index, status: 'rejected', reason: r.reason, detail: r.detail ?? '', ...(r.duplicate_of ? { duplicateOf: r.duplicate_of as Hex } : {}) },
  );
}
