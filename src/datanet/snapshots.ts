import type { Address, Hex } from 'viem';
import type { Queryable } from '../store/database.ts';
import type { NodeContext } from '../store/node-context.ts';
import { blobURI } from '../store/blob-uri.ts';
import { withDatanetLock } from './datanet-lock.ts';
import type { Datanet, Snapshot } from './datanet-types.ts';
import { DatanetError, notFound } from './errors.ts';
import { contributionTree } from './merkle.ts';
import { sendOnce } from '../chain/send-once.ts';

interface Row {
  id: string;
  datanet_id: string;
  root: string;
  count: number;
  blob_hash: string;
  status: 'building' | 'recorded';
  snapshot_index: string | null;
  tx_hash: string | null;
  sent_from_block: string | null;
  requested_by: string;
  created_at: Date;
}

const toSnapshot = (r: Row): Snapshot => ({
  id: Number(r.id),
  datanetId: Number(r.datanet_id),
  root: r.root as Hex,
  count: r.count,
  listURI: blobURI(r.blob_hash),
  status: r.status,
  snapshotIndex: r.snapshot_index === null ? null : Number(r.snapshot_index),
  txHash: r.tx_hash as Hex | null,
  requestedBy: r.requested_by as Address,
  createdAt: r.created_at.toISOString(),
});

/**
 * Freezes the datanet's accepted contributions into a snapshot: their Merkle root, recorded in the
 * DatanetRegistry (so models can cite it as provenance), their sorted id list as a blob, and the
 * membership in the store, written in one transaction before the chain is touched. The same set
 * frozen twice is the same snapshot (returned with `created: false`).
 *
 * @example
 * const { snapshot } = await createSnapshot(ctx, datanet, owner);
 */
export function createSnapshot(ctx: NodeContext, datanet: Datanet, requestedBy: Address): Promise<{ snapshot: Snapshot; created: boolean }> {
  return withDatanetLock(datanet.id!, () => snapshotUnderLock(ctx, datanet, requestedBy));
}

async function snapshotUnderLock(ctx: NodeContext, datanet: Datanet, requestedBy: Address): Promise<{ snapshot: Snapshot; created: boolean }> {
  const ids = (
    await ctx.db.query<{ id: string }>(`select id from contributions where datanet_id = $1 and status = 'accepted' order by id`, [datanet.id])
  ).map((r) => r.id as Hex);
  if (ids.length === 0) throw new DatanetError('empty_snapshot', `datanet ${datanet.id} has no accepted contributions to snapshot`);
  const root = contributionTree(ids).root as Hex;
  const [existing] = await ctx.db.query<Row>('select * from snapshots where root = $1', [root]);
  if (existing) return { snapshot: await recordSnapshot(ctx, toSnapshot(existing), existing.sent_from_block), created: false };
  const list = await ctx.blobs.put(new TextEncoder().encode(JSON.stringify(ids)));
  const row = await ctx.db.transaction(async (tx) => {
    const [r] = await tx.query<Row>(
      `insert into snapshots (datanet_id, root, count, blob_hash, status, requested_by) values ($1, $2, $3, $4, 'building', $5) returning *`,
      [datanet.id, root, ids.length, list.hash, requestedBy],
    );
    await tx.query(`insert into snapshot_members (snapshot_id, contribution_id) select $1, unnest($2::text[])`, [r!.id, ids]);
    return r!;
  });
  return { snapshot: await recordSnapshot(ctx, toSnapshot(row), null), created: true };
}

/**
 * Records a built snapshot on chain, finding it among the registry's events first if it was sent
 * before a crash. Used by {@link createSnapshot} and by the worker's recovery.
 */
export async function recordSnapshot(ctx: NodeContext, snapshot: Snapshot, sentFromBlock: string | null): Promise<Snapshot> {
  if (snapshot.status === 'recorded') return snapshot;
  const event = await sendOnce(ctx, {
    contract: 'datanetRegistry',
    eventName: 'SnapshotRecorded',
    filter: { datanetId: BigInt(snapshot.datanetId) },
    matches: (args) => args.root === snapshot.root,
    sentFromBlock: sentFromBlock === null ? null : BigInt(sentFromBlock),
    recordHead: async (head) => void (await ctx.db.query('update snapshots set sent_from_block = $2 where id = $1', [snapshot.id, head.toString()])),
    send: () => ctx.contracts.datanetRegistry.write.recordSnapshot([BigInt(snapshot.datanetId), snapshot.root, BigInt(snapshot.count), snapshot.listURI]),
  });
  const [row] = await ctx.db.query<Row>(
    `update snapshots set status = 'recorded', snapshot_index = $2, tx_hash = $3, recorded_at = now() where id = $1 returning *`,
    [snapshot.id, String(event.args.snapshotIndex), event.transactionHash],
  );
  return toSnapshot(row!);
}

/** Snapshots whose recording on chain has not finished (for recovery after a crash). */
export async function unrecordedSnapshots(db: Queryable): Promise<{ snapshot: Snapshot; sentFromBlock: string | null }[]> {
  return (await db.query<Row>(`select * from snapshots where status = 'building' order by id`)).map((r) => ({
    snapshot: toSnapshot(r),
    sentFromBlock: r.sent_from_block,
  }));
}

/**
 * A snapshot by its node-local id; 404 if none.
 *
 * @example
 * const s = await getSnapshot(db, 3);
 */
export async function getSnapshot(db: Queryable, id: number): Promise<Snapshot> {
  const [row] = await db.query<Row>('select * from snapshots where id = $1', [id]);
  if (!row) throw notFound(`snapshot ${id}`);
  return toSnapshot(row);
}

/** A datanet's snapshots, newest first. */
export async function listSnapshots(db: Queryable, datanetId: number): Promise<Snapshot[]> {
  return (await db.query<Row>('select * from snapshots where datanet_id = $1 order by id desc', [datanetId])).map(toSnapshot);
}
