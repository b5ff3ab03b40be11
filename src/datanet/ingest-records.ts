import { keccak256, type Address, type Hex } from 'viem';
import { canonicalBytes, contributionIdOf } from './contribution-id.ts';
import type { NodeContext } from '../store/node-context.ts';
import { withDatanetLock } from './datanet-lock.ts';
import type { ContributionRecord, Datanet, IngestResult, IngestSummary } from './datanet-types.ts';
import { nearDuplicateIndexOf } from './near-duplicate-indexes.ts';
import { recordChecks, recordText, type Rejection } from './validate-record.ts';

/** One record handed to ingestion: parsed, or the reason its bytes could not be parsed. */
export type IngestItem =
  | { index: number; record: ContributionRecord }
  | { index: number; error: { code: string; message: string } };

const CHUNK = 500;

/**
 * Validates and stores records contributed to `datanet` by `contributor`, in order, and says what
 * became of each: accepted (or pending, for datanets curated by hand), or rejected with a
 * machine-readable reason. Checks, per record: the intake's parse errors; the contributor's stake
 * on chain; emptiness, size, schema and the owner's rules; exact duplicates in the datanet (and in
 * the same submission); near-duplicates (MinHash + LSH at the datanet's threshold).
 *
 * Records of an upload carry `uploadId`: ingesting the same upload again (after a crash) returns
 * the stored outcome of every record already stored and continues with the rest, so nothing
 * acknowledged is lost or stored twice. Each chunk of records is stored in one transaction.
 *
 * @example
 * const { results } = await ingestRecords(ctx, datanet, contributor, toItems([{ q: 'why?', a: 'because' }]));
 */
export async function ingestRecords(
  ctx: NodeContext,
  datanet: Datanet,
  contributor: Address,
  items: AsyncIterable<IngestItem> | Iterable<IngestItem>,
  options: { uploadId?: string; consentId?: number; onProgress?: (summary: IngestSummary) => void } = {},
): Promise<IngestSummary & { results: IngestResult[] }> {
  const datanetId = datanet.id;
  if (datanetId === null) throw new Error(`datanet ${datanet.name} is not registered yet`);
  return withDatanetLock(datanetId, async () => {
    const { db } = ctx;
    const check = recordChecks(datanet);
    const index = await nearDuplicateIndexOf(ctx, datanet);
    const staked = await ctx.contracts.datanetRegistry.read.canContribute([BigInt(datanetId), contributor]);
    const status = datanet.curation === 'auto' ? 'accepted' : 'pending';
    const earlier = options.uploadId ? await storedResults(ctx, options.uploadId) : new Map<number, IngestResult>();
    const results: IngestResult[] = [];
    const summary: IngestSummary = { records: 0, accepted: 0, pending: 0, rejected: 0 };
    const count = (r: IngestResult) => {
      results.push(r);
      summary.records++;
      summary[r.status]++;
    };

    let chunk: IngestItem[] = [];
    let chunks = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      const items = chunk;
      chunk = [];
      type Candidate = { index: number; record: ContributionRecord; content: string; size: number; contentHash: Hex; id: Hex; text: string };
      const decided = new Map<number, IngestResult>();
      const candidates: Candidate[] = [];
      for (const item of items) {
        const before = earlier.get(item.index);
        if (before) {
          decided.set(item.index, before);
          continue;
        }
        if ('error' in item) {
          decided.set(item.index, { index: item.index, status: 'rejected', reason: item.error.code, detail: item.error.message });
          continue;
        }
        if (!staked) {
          decided.set(item.index, {
            index: item.index,
            status: 'rejected',
            reason: 'insufficient_stake',
            detail: `${contributor} has not bonded this datanet's contribution stake (${datanet.contributionStake} wei)`,
          });
          continue;
        }
        const bytes = canonicalBytes(item.record);
        const rejection = check(item.record, bytes);
        if (rejection) {
          decided.set(item.index, { index: item.index, status: 'rejected', ...rejection });
          continue;
        }
        const contentHash = keccak256(bytes); // = contentHashOf(record), without canonicalising twice
        candidates.push({
          index: item.index,
          record: item.record,
          content: new TextDecoder().decode(bytes),
          size: bytes.length,
          contentHash,
          id: contributionIdOf(contentHash, contributor),
          text: recordText(item.record),
        });
      }

      const known = await db.query<{ id: string; content_hash: string; status: string }>(
        `select id, content_hash, status from contributions where id = any($1) or (datanet_id = $2 and content_hash = any($3) and status <> 'rejected')`,
        [candidates.map((c) => c.id), datanetId, candidates.map((c) => c.contentHash)],
      );
      const byId = new Map(known.map((k) => [k.id, k]));
      const byHash = new Map(known.filter((k) => k.status !== 'rejected').map((k) => [k.content_hash, k.id as Hex]));
      const accepted: Candidate[] = [];
      for (const c of candidates) {
        let rejection: Rejection | undefined;
        const same = byId.get(c.id);
        const duplicateOf = byHash.get(c.contentHash);
        if (same?.status === 'rejected') rejection = { reason: 'previously_rejected', detail: 'a curator rejected this contribution before', duplicateOf: c.id };
        else if (duplicateOf) rejection = { reason: 'duplicate', detail: 'the same content is already in this datanet', duplicateOf };
        else {
          const near = index.check(c.text);
          if (near.duplicateOf) {
            rejection = {
              reason: 'near_duplicate',
              detail: `estimated similarity ${near.similarity?.toFixed(2)} with an existing contribution (threshold ${datanet.nearDuplicateThreshold})`,
              duplicateOf: near.duplicateOf as Hex,
            };
          }
        }
        if (rejection) {
          decided.set(c.index, { index: c.index, status: 'rejected', ...rejection });
          continue;
        }
        byHash.set(c.contentHash, c.id);
        index.add(c.id, c.text);
        accepted.push(c);
        decided.set(c.index, { index: c.index, status, id: c.id });
      }

      try {
        await db.transaction(async (tx) => {
          if (accepted.length > 0) {
            await tx.query(
              `insert into contributions (id, datanet_id, contributor, content_hash, kind, content, size, status, upload_id, consent_id, record_index)
               select u.id, $1, $2, u.content_hash, u.kind, u.content, u.size, $3, $4, $11, u.record_index
               from unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::int[]) as u(id, content_hash, kind, content, size, record_index)`,
              [
                datanetId, contributor, status, options.uploadId ?? null,
                accepted.map((c) => c.id), accepted.map((c) => c.contentHash),
                accepted.map((c) => (typeof c.record === 'string' ? 'text' : 'object')), accepted.map((c) => c.content),
                accepted.map((c) => c.size), accepted.map((c) => (options.uploadId ? c.index : null)), options.consentId ?? null,
              ],
            );
          }
          if (options.uploadId) {
            const rejected = [...decided.values()].filter((r): r is Extract<IngestResult, { status: 'rejected' }> => r.status === 'rejected' && !earlier.has(r.index));
            if (rejected.length > 0) {
              await tx.query(
                `insert into upload_rejections (upload_id, record_index, reason, detail, duplicate_of)
                 select $1, u.record_index, u.reason, u.detail, u.duplicate_of
                 from unnest($2::int[], $3::text[], $4::text[], $5::text[]) as u(record_index, reason, detail, duplicate_of)
                 on conflict do nothing`,
                [options.uploadId, rejected.map((r) => r.index), rejected.map((r) => r.reason), rejected.map((r) => r.detail), rejected.map((r) => r.duplicateOf ?? null)],
              );
            }
          }
        });
      } catch (err) {
        for (const c of accepted) index.remove(c.id); // keep the index equal to what is stored
        throw err;
      }
      for (const item of items) count(decided.get(item.index)!);
      options.onProgress?.({ ...summary });
      // Refresh the planner's statistics as a large submission grows the table (after chunks 4, 8,
      // 16, …): without them the duplicate lookup scans the datanet instead of using the content
      // index, and each chunk's lookup slows as the datanet grows (bench/ingest.ts).
      chunks++;
      if (chunks >= 4 && (chunks & (chunks - 1)) === 0) await db.query('analyze contributions');
    };

    for await (const item of items) {
      chunk.push(item);
      if (chunk.length >= CHUNK) await flush();
    }
    await flush();
    return { ...summary, results };
  });
}

/** The stored outcome of every record of an upload ingested before (for a rerun after a crash). */
async function storedResults(ctx: NodeContext, uploadId: string): Promise<Map<number, IngestResult>> {
  const out = new Map<number, IngestResult>();
  const stored = await ctx.db.query<{ id: string; status: 'accepted' | 'pending' | 'rejected'; record_index: number }>(
    'select id, status, record_index from contributions where upload_id = $1',
    [uploadId],
  );
  for (const s of stored) {
    out.set(
      s.record_index,
      s.status === 'rejected'
        ? { index: s.record_index, status: 'rejected', reason: 'previously_rejected', detail: 'a curator rejected this contribution', duplicateOf: s.id as Hex }
        : { index: s.record_index, status: s.status, id: s.id as Hex },
    );
  }
  const rejections = await ctx.db.query<{ record_index: number; reason: string; detail: string; duplicate_of: string | null }>(
    'select record_index, reason, detail, duplicate_of from upload_rejections where upload_id = $1',
    [uploadId],
  );
  for (const r of rejections) {
    out.set(r.record_index, {
      index: r.record_index,
      status: 'rejected',
      reason: r.reason,
      detail: r.detail,
      ...(r.duplicate_of ? { duplicateOf: r.duplicate_of as Hex } : {}),
    });
  }
  return out;
}
