import type { NodeContext } from '../store/node-context.ts';
import type { Datanet } from './datanet-types.ts';
import { createNearDuplicateIndex, type NearDuplicateIndex } from './near-duplicates.ts';
import { storedRecord } from './contributions.ts';
import { recordText } from './validate-record.ts';

const indexes = new WeakMap<NodeContext, Map<number, Promise<NearDuplicateIndex>>>();

/**
 * The near-duplicate index of a datanet, built on first use from its live (accepted and pending)
 * contributions and kept in memory; ingestion adds to it and curation removes from it.
 *
 * @example
 * const index = await nearDuplicateIndexOf(ctx, datanet);
 * const { duplicateOf } = index.check(text);
 */
export function nearDuplicateIndexOf(ctx: NodeContext, datanet: Datanet): Promise<NearDuplicateIndex> {
  let perContext = indexes.get(ctx);
  if (!perContext) indexes.set(ctx, (perContext = new Map()));
  const id = datanet.id!;
  let index = perContext.get(id);
  if (!index) {
    index = build(ctx, datanet);
    perContext.set(id, index);
    index.catch(() => perContext.delete(id));
  }
  return index;
}

async function build(ctx: NodeContext, datanet: Datanet): Promise<NearDuplicateIndex> {
  const index = createNearDuplicateIndex({ threshold: datanet.nearDuplicateThreshold });
  const rows = await ctx.db.query<{ id: string; kind: 'object' | 'text'; content: string }>(
    `select id, kind, content from contributions where datanet_id = $1 and status <> 'rejected' order by created_at`,
    [datanet.id],
  );
  for (const r of rows) index.add(r.id, recordText(storedRecord(r)));
  return index;
}
