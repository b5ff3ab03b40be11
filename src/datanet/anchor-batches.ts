import type { Hex } from 'viem';
import type { NodeContext } from '../store/node-context.ts';
import { blobURI } from '../store/blob-uri.ts';
import { withDatanetLock } from './datanet-lock.ts';
import { DatanetError, notFound } from './errors.ts';
import { contributionTree } from './merkle.ts';
import { sendOnce } from '../chain/send-once.ts';

/** One batch of accepted contributions, anchored on chain as a Merkle root. */
export interface AnchorBatch {
  id: number;
  datanetId: number;
  root: Hex;
  count: number;
  status: 'open' | 'anchored';
  /** Index of the batch in the DatanetRegistry, once anchored. */
  batchIndex: number | null;
  txHash: Hex | null;
}

interface BatchRow {
  id: string;
  datanet_id: string;
  root: string;
  count: number;
  status: 'open' | 'anchored';
  batch_index: string | null;
  tx_hash: string | null;
  sent_from_block: string | null;
}

const toBatch = (r: BatchRow): AnchorBatch => ({
  id: Number(r.id),
  datanetId: Number(r.datanet_id),
  root: r.root as Hex,
  count: r.count,
  status: r.status,
  batchIndex: r.batch_index === null ? null : Number(r.batch_index),
  txHash: r.tx_hash as Hex | null,
});

/**
 * Anchors a datanet's accepted, not yet anchored contributions: first finishes any batch a crash
 * left open, then groups up to `maxBatch` contributions into a new batch (recorded with its members
 * in one transaction) and anchors its Merkle root with one DatanetRegistry.anchorBatch transaction.
 * Returns the batches anchored by this call.
 *
 * @example
 * const batches = await anchorContributions(ctx, 1);
 */
export function anchorContributions(ctx: NodeContext, datanetId: number, maxBatch = 1000): Promise<AnchorBatch[]> {
  return withDatanetLock(datanetId, () => anchorUnderLock(ctx, datanetId, maxBatch));
}

async function anchorUnderLock(ctx: NodeContext, datanetId: number, maxBatch: number): Promise<AnchorBatch[]> {
  const done: AnchorBatch[] = [];
  const open = await ctx.db.query<BatchRow>(`select * from anchor_batches where datanet_id = $1 and status = 'open' order by id`, [datanetId]);
  for (const row of open) done.push(await sendBatch(ctx, toBatch(row), row.sent_from_block));
  for (;;) {
    const batch = await ctx.db.transaction(async (tx) => {
      const ids = (
        await tx.query<{ id: string }>(
          `select id from contributions where datanet_id = $1 and status = 'accepted' and batch_id is null order by created_at, id limit $2 for update`,
          [datanetId, maxBatch],
        )
      ).map((r) => r.id as Hex);
      if (ids.length === 0) return undefined;
      const root = contributionTree(ids).root as Hex;
      const [row] = await tx.query<BatchRow>(
        `insert into anchor_batches (datanet_id, root, count, status) values ($1, $2, $3, 'open') returning *`,
        [datanetId, root, ids.length],
      );
      await tx.query('update contributions set batch_id = $1 where id = any($2)', [row!.id, ids]);
      return toBatch(row!);
    });
    if (!batch) return done;
    done.push(await sendBatch(ctx, batch, null));
  }
}

async function sendBatch(ctx: NodeContext, batch: AnchorBatch, sentFromBlock: string | null): Promise<AnchorBatch> {
  const event = await sendOnce(ctx, {
    contract: 'datanetRegistry',
    eventName: 'BatchAnchored',
    filter: { datanetId: BigInt(batch.datanetId) },
    matches: (args) => args.root === batch.root,
    sentFromBlock: sentFromBlock === null ? null : BigInt(sentFromBlock),
    recordHead: async (head) => void (await ctx.db.query('update anchor_batches set sent_from_block = $2 where id = $1', [batch.id, head.toString()])),
    send: async () => {
      const members = await ctx.db.query<{ id: string }>('select id from contributions where batch_id = $1 order by id', [batch.id]);
      const list = await ctx.blobs.put(new TextEncoder().encode(JSON.stringify(members.map((m) => m.id))));
      return ctx.contracts.datanetRegistry.write.anchorBatch([BigInt(batch.datanetId), batch.root, BigInt(batch.count), blobURI(list.hash)]);
    },
  });
  const [row] = await ctx.db.query<BatchRow>(
    `update anchor_batches set status = 'anchored', batch_index = $2, tx_hash = $3, anchored_at = now() where id = $1 returning *`,
    [batch.id, String(event.args.batchIndex), event.transactionHash],
  );
  return toBatch(row!);
}

/** The proof that a contribution is in an anchored batch, checkable with DatanetRegistry.verifyContribution. */
export interface ContributionProof {
  contributionId: Hex;
  datanetId: number;
  batchIndex: number;
  root: Hex;
  proof: Hex[];
  txHash: Hex;
}

/**
 * The Merkle proof of a contribution in its anchored batch. A 409 {@link DatanetError} while the
 * contribution is not anchored yet (pending, rejected, or waiting for the next batch).
 *
 * @example
 * const { datanetId, batchIndex, proof } = await contributionProof(ctx, id);
 * await registry.read.verifyContribution([BigInt(datanetId), BigInt(batchIndex), id, proof]);
 */
export async function contributionProof(ctx: NodeContext, contributionId: Hex): Promise<ContributionProof> {
  const id = contributionId.toLowerCase() as Hex;
  const [row] = await ctx.db.query<BatchRow & { contribution_status: string }>(
    `select b.*, c.status as contribution_status from contributions c left join anchor_batches b on b.id = c.batch_id where c.id = $1`,
    [id],
  );
  if (!row) throw notFound(`contribution ${contributionId}`);
  if (row.status !== 'anchored' || row.batch_index === null) {
    throw new DatanetError('not_anchored', `contribution ${contributionId} is ${row.contribution_status} and not anchored yet`);
  }
  const members = (await ctx.db.query<{ id: string }>('select id from contributions where batch_id = $1', [row.id])).map((m) => m.id as Hex);
  const tree = contributionTree(members);
  return {
    contributionId: id,
    datanetId: Number(row.datanet_id),
    batchIndex: Number(row.batch_index),
    root: row.root as Hex,
    proof: tree.getProof([id]) as Hex[],
    txHash: row.tx_hash as Hex,
  };
}
