import { keccak256, type Address, type Hex } from 'viem';
import type { NodeContext } from '../store/node-context.ts';
import type { DaBackend } from './da/backend.ts';
import { daURI } from './da/commitment.ts';
import { nodeStoreBackend } from './da/node-store-backend.ts';
import { encodeBatchPayload } from './da/payload.ts';
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
  /** The Alt-DA commitment its DA payload was published under (its on-chain uri is `altda:` and it). */
  da_commitment: string | null;
  /** keccak256 of its DA payload, the commitment anchored with it. */
  data_hash: string | null;
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

/** Options of {@link anchorContributions}. */
export interface AnchorOptions {
  /** Most contributions in one batch (default 1000). */
  maxBatch?: number;
  /**
   * Most bytes of contribution content in one batch (default 120 000): the batch's DA payload must
   * fit in one transaction's calldata for a DA challenge to be answerable (OP Alt-DA caps keccak-
   * committed inputs at 130 672 bytes, what geth relays). A single larger contribution still makes
   * a batch of its own.
   */
  maxPayloadBytes?: number;
  /** Where batches' DA payloads are published (default: the node's blob store). */
  da?: DaBackend;
}

/**
 * Anchors a datanet's accepted, not yet anchored contributions: first finishes any batch a crash
 * left open, then groups up to `maxBatch` contributions (and `maxPayloadBytes` of content) into a
 * new batch (recorded with its members in one transaction), publishes the batch's DA payload through
 * the DA backend (recording its commitment), and anchors its Merkle root with the payload's keccak256
 * in one DatanetRegistry.anchorBatch transaction. Returns the batches anchored by this call.
 *
 * @example
 * const batches = await anchorContributions(ctx, 1);
 * const viaServer = await anchorContributions(ctx, 1, { da: altDaHttpBackend(daServerUrl) });
 */
export function anchorContributions(ctx: NodeContext, datanetId: number, options: AnchorOptions | number = {}): Promise<AnchorBatch[]> {
  const o = typeof options === 'number' ? { maxBatch: options } : options;
  const limits = { maxBatch: o.maxBatch ?? 1000, maxPayloadBytes: o.maxPayloadBytes ?? 120_000 };
  return withDatanetLock(datanetId, () => anchorUnderLock(ctx, datanetId, limits, o.da ?? nodeStoreBackend(ctx.blobs)));
}

async function anchorUnderLock(ctx: NodeContext, datanetId: number, limits: { maxBatch: number; maxPayloadBytes: number }, da: DaBackend): Promise<AnchorBatch[]> {
  const done: AnchorBatch[] = [];
  const open = await ctx.db.query<BatchRow>(`select * from anchor_batches where datanet_id = $1 and status = 'open' order by id`, [datanetId]);
  for (const row of open) done.push(await sendBatch(ctx, row, da));
  for (;;) {
    const batch = await ctx.db.transaction(async (tx) => {
      const candidates = await tx.query<{ id: string; size: number }>(
        `select id, size from contributions where datanet_id = $1 and status = 'accepted' and batch_id is null order by created_at, id limit $2 for update`,
        [datanetId, limits.maxBatch],
      );
      const ids: Hex[] = [];
      let bytes = 0;
      for (const c of candidates) {
        if (ids.length > 0 && bytes + c.size > limits.maxPayloadBytes) break;
        bytes += c.size;
        ids.push(c.id as Hex);
      }
      if (ids.length === 0) return undefined;
      const root = contributionTree(ids).root as Hex;
      const [row] = await tx.query<BatchRow>(
        `insert into anchor_batches (datanet_id, root, count, status) values ($1, $2, $3, 'open') returning *`,
        [datanetId, root, ids.length],
      );
      await tx.query('update contributions set batch_id = $1 where id = any($2)', [row!.id, ids]);
      return row!;
    });
    if (!batch) return done;
    done.push(await sendBatch(ctx, batch, da));
  }
}

/**
 * Publishes a batch's DA payload, once: the commitment is recorded before the batch is anchored, so
 * a crash after it re-anchors with the recorded one (a crash between the put and the record repeats
 * the put: a no-op for content-addressed stores, a second copy for L1 blobs).
 */
async function publishBatchData(ctx: NodeContext, batch: BatchRow, da: DaBackend): Promise<{ daCommitment: Hex; dataHash: Hex }> {
  if (batch.da_commitment && batch.data_hash) return { daCommitment: batch.da_commitment as Hex, dataHash: batch.data_hash as Hex };
  const members = await ctx.db.query<{ contributor: string; content: string }>('select contributor, content from contributions where batch_id = $1 order by id', [batch.id]);
  const encoder = new TextEncoder();
  const payload = encodeBatchPayload(members.map((m) => ({ contributor: m.contributor as Address, content: encoder.encode(m.content) })));
  const daCommitment = await da.put(payload);
  const dataHash = keccak256(payload);
  await ctx.db.query('update anchor_batches set da_commitment = $2, data_hash = $3 where id = $1', [batch.id, daCommitment, dataHash]);
  return { daCommitment, dataHash };
}

async function sendBatch(ctx: NodeContext, open: BatchRow, da: DaBackend): Promise<AnchorBatch> {
  const batch = toBatch(open);
  const sentFromBlock = open.sent_from_block;
  const { daCommitment, dataHash } = await publishBatchData(ctx, open, da);
  const event = await sendOnce(ctx, {
    contract: 'datanetRegistry',
    eventName: 'BatchAnchored',
    filter: { datanetId: BigInt(batch.datanetId) },
    matches: (args) => args.root === batch.root,
    sentFromBlock: sentFromBlock === null ? null : BigInt(sentFromBlock),
    recordHead: async (head) => void (await ctx.db.query('update anchor_batches set sent_from_block = $2 where id = $1', [batch.id, head.toString()])),
    send: () =>
      ctx.contracts.datanetRegistry.write.anchorBatch([BigInt(batch.datanetId), batch.root, BigInt(batch.count), daURI(daCommitment), dataHash]),
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
