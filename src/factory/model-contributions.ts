import { getAddress, type Address, type Hex } from 'viem';
import { z } from 'zod';
import { contributionKeys, contributorsOf } from '../datanet/contributions.ts';
import { contributionIdOf } from '../datanet/contribution-id.ts';
import type { Queryable } from '../store/database.ts';
import { FactoryError } from './errors.ts';

/**
 * A published model's contributions document: every contribution its trace holds, with what makes
 * its id checkable (its content hash and contributor). Named by hash in the model's metadata, so a
 * node that mirrors the model pays the same contributors without the datanet's records.
 */
export type ContributionsDocument = Array<{ id: Hex; contentHash: Hex; contributor: Address }>;

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/).transform((h) => h.toLowerCase() as Hex);
const documentSchema = z.array(z.object({ id: hex32, contentHash: hex32, contributor: z.string().regex(/^0x[0-9a-fA-F]{40}$/).transform((a) => getAddress(a)) }).strict());

/**
 * The contributions document of a model trained here on contributions `ids` (from the node's datanets).
 *
 * @example
 * const doc = await contributionsDocument(db, trace.examples.map((e) => e.contributionId));
 */
export async function contributionsDocument(db: Queryable, ids: readonly Hex[]): Promise<ContributionsDocument> {
  const wanted = [...new Set(ids.map((id) => id.toLowerCase() as Hex))];
  const keys = await contributionKeys(db, wanted);
  if (keys.length !== wanted.length) throw new FactoryError('unpublishable_model', `${wanted.length - keys.length} of the trace's contributions are not in this node's store`);
  return keys;
}

/**
 * Reads another node's contributions document for a model whose trace holds `traceIds`: every id
 * must derive from its content hash and contributor, and every trace contribution must be there.
 * Throws `unmirrorable_model` otherwise.
 */
export function readContributionsDocument(json: unknown, traceIds: readonly Hex[]): ContributionsDocument {
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) throw new FactoryError('unmirrorable_model', `the contributions document is malformed: ${parsed.error.issues[0]?.message}`);
  for (const c of parsed.data) {
    if (contributionIdOf(c.contentHash, c.contributor).toLowerCase() !== c.id) throw new FactoryError('unmirrorable_model', `the contributions document gives contribution ${c.id} to ${c.contributor}, whose content hash does not make that id`);
  }
  const listed = new Set(parsed.data.map((c) => c.id));
  const missing = traceIds.filter((id) => !listed.has(id.toLowerCase() as Hex));
  if (missing.length > 0) throw new FactoryError('unmirrorable_model', `the contributions document leaves out ${missing.length} of the trace's contributions (${missing[0]}…)`);
  return parsed.data;
}

/** Records a mirrored model's contributions (in the transaction that records the model). */
export async function recordMirroredContributions(tx: Queryable, chainId: number, modelId: bigint, doc: ContributionsDocument): Promise<void> {
  for (let i = 0; i < doc.length; i += 500) {
    const page = doc.slice(i, i + 500);
    await tx.query(
      `insert into mirrored_contributions (chain_id, model_id, contribution_id, content_hash, contributor)
       select $1, $2, * from unnest($3::text[], $4::text[], $5::text[]) on conflict do nothing`,
      [chainId, modelId.toString(), page.map((c) => c.id), page.map((c) => c.contentHash), page.map((c) => c.contributor)],
    );
  }
}

/**
 * The contributor of each contribution a served model may credit, by id: from this node's datanets,
 * and from the contributions documents of the models it mirrored (ids not known are absent).
 *
 * @example
 * const byId = await contributorsOfServed(db, receipt.body.contributions.map((c) => c.contributionId));
 */
export async function contributorsOfServed(db: Queryable, ids: readonly Hex[]): Promise<Record<string, Address>> {
  const own = await contributorsOf(db, ids);
  const rest = ids.map((id) => id.toLowerCase()).filter((id) => !own[id]);
  if (rest.length === 0) return own;
  // an id derives from its contributor (checked when mirrored): two documents cannot give one id to two people
  const rows = await db.query<{ contribution_id: string; contributor: string }>('select distinct contribution_id, contributor from mirrored_contributions where contribution_id = any($1)', [rest]);
  return { ...own, ...Object.fromEntries(rows.map((r) => [r.contribution_id, getAddress(r.contributor)])) };
}
