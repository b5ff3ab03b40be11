import type { Hex } from 'viem';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import type { Queryable } from '../store/database.ts';
import type { EpochInputs, EpochLeaves } from './epoch.ts';
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
  const receipts = await db.query<{ id: Hex; body: ReceiptBody; signature: Hex; prompt: string; output: string }>('select id, body, signature, prompt, output from attribution_receipts where id = any($1)', [row.inputs.receipts]);
  const byId = new Map(receipts.map((r) => [r.id, r]));
  return { epoch, status: row.status, root: row.root, inputs: row.inputs, leaves: row.leaves, receipts: row.inputs.receipts.flatMap((id) => (byId.get(id) ? [byId.get(id)!] : [])) };
}
