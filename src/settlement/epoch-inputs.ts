import type { Hex } from 'viem';
import { getReceipts } from '../attribution/receipts.ts';
import type { Queryable } from '../store/database.ts';
import type { EpochInputs, EpochLeaves } from './epoch-tree.ts';
import type { ServedEpoch } from './verify-epoch.ts';

/**
 * An epoch as the node serves it to verifiers: status, root, inputs, leaves, and every receipt the
 * inputs name (body, signature, prompt and output, so attribution can be recomputed too). Null when
 * the node has no such epoch.
 *
 * @example
 * const e = await readServedEpoch(db, 1);
 */
export async function readServedEpoch(db: Queryable, epoch: number): Promise<ServedEpoch | null> {
  const [row] = await db.query<{ status: string; root: Hex; inputs: EpochInputs; leaves: EpochLeaves }>('select status, root, inputs, leaves from settlement_epochs where epoch = $1', [epoch]);
  if (!row) return null;
  const receipts = (await getReceipts(db, row.inputs.receipts)).map(({ id, body, signature, prompt, output }) => ({ id, body, signature, prompt, output }));
  return { epoch, status: row.status, root: row.root, inputs: row.inputs, leaves: row.leaves, receipts };
}

/** An epoch as listed (`GET /settlement/epochs`): its root, total, inputs hash, transaction and how many receipts it settled. */
export interface EpochSummary {
  epoch: number;
  status: string;
  root: Hex;
  cumulativeTotal: string;
  inputsHash: Hex;
  txHash: Hex | null;
  postedAt: string | null;
  receipts: number;
}

/**
 * This node's epochs, newest first.
 *
 * @example
 * const [latest] = await listEpochs(db);
 */
export async function listEpochs(db: Queryable): Promise<EpochSummary[]> {
  const rows = await db.query<{ epoch: number; status: string; root: Hex; cumulative_total: string; inputs_hash: Hex; tx_hash: Hex | null; posted_at: Date | null; receipts: number }>(
    `select epoch, status, root, cumulative_total::text, inputs_hash, tx_hash, posted_at, jsonb_array_length(inputs -> 'receipts') as receipts from settlement_epochs order by epoch desc`);
  return rows.map((r) => ({ epoch: r.epoch, status: r.status, root: r.root, cumulativeTotal: r.cumulative_total, inputsHash: r.inputs_hash, txHash: r.tx_hash, postedAt: r.posted_at?.toISOString() ?? null, receipts: r.receipts }));
}
