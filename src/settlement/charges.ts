import { getAddress, type Address, type Hex } from 'viem';
import type { Queryable } from '../store/database.ts';

// Settlement's ledger of the receipts it settles (`settlement_receipts`): what each charged
// receipt costs whom, and which epoch paid it. The escrow meter records a receipt's charge in the
// transaction that stores the receipt, so a stored receipt is always charged and never twice.

/** A receipt's charge: who pays and how much (wei). */
export interface Charge {
  receiptId: Hex;
  consumer: Address | null;
  fee: bigint;
  /** A receipt's fee, or a consumer's skill call's price (its tree is paid from it; skill-calls.ts). Default receipt. */
  kind?: 'receipt' | 'call';
}

/**
 * Records a receipt's charge, in the receipt's own transaction; recording it again is a no-op.
 *
 * @example
 * await storeReceipt(db, receipt, texts, (tx) => recordCharge(tx, { receiptId: receipt.id, consumer, fee }));
 */
export async function recordCharge(tx: Queryable, c: Charge): Promise<void> {
  await tx.query('insert into settlement_receipts (receipt_id, consumer, fee, kind) values ($1, $2, $3, $4) on conflict (receipt_id) do nothing', [c.receiptId, c.consumer, c.fee.toString(), c.kind ?? 'receipt']);
}

/**
 * What a consumer has spent with this node (wei): the fees of all its charged receipts, or of the
 * settled ones only.
 *
 * @example
 * const spent = await consumerSpend(db, consumer);
 */
export async function consumerSpend(db: Queryable, consumer: Address, o: { settledOnly?: boolean } = {}): Promise<bigint> {
  const [row] = await db.query<{ spent: string | null }>(
    `select sum(fee)::text as spent from settlement_receipts where lower(consumer) = lower($1)${o.settledOnly ? ' and epoch is not null' : ''}`, [consumer]);
  return BigInt(row?.spent ?? '0');
}

/** Receipts no epoch has settled yet, oldest first. */
export async function unsettledCharges(db: Queryable): Promise<Charge[]> {
  const rows = await db.query<{ receipt_id: Hex; consumer: string | null; fee: string; kind: 'receipt' | 'call' }>(
    'select receipt_id, consumer, fee::text, kind from settlement_receipts where epoch is null order by created_at, receipt_id');
  return rows.map((r) => ({ receiptId: r.receipt_id, consumer: r.consumer ? getAddress(r.consumer) : null, fee: BigInt(r.fee), kind: r.kind }));
}

/** Consumers with unsettled fees. */
export async function consumersOwing(db: Queryable): Promise<Address[]> {
  const rows = await db.query<{ consumer: string }>('select distinct consumer from settlement_receipts where epoch is null and fee > 0 and consumer is not null');
  return rows.map((r) => getAddress(r.consumer));
}

/** Marks receipts as settled by `epoch` (null: hands them back to the next epoch). */
export async function settleCharges(tx: Queryable, epoch: number, receiptIds: readonly Hex[]): Promise<void> {
  await tx.query('update settlement_receipts set epoch = $1 where receipt_id = any($2)', [epoch, receiptIds]);
}

/** Hands an epoch's receipts back to the next epoch (the epoch was discarded or reverted). */
export async function unsettleEpoch(tx: Queryable, epoch: number): Promise<void> {
  await tx.query('update settlement_receipts set epoch = null where epoch = $1', [epoch]);
}

/** The epoch that settled each of these receipts (absent: not charged here). */
export async function epochsOf(db: Queryable, receiptIds: readonly Hex[]): Promise<Map<Hex, number | null>> {
  const rows = await db.query<{ receipt_id: Hex; epoch: number | null }>('select receipt_id, epoch from settlement_receipts where receipt_id = any($1)', [receiptIds]);
  return new Map(rows.map((r) => [r.receipt_id, r.epoch]));
}
