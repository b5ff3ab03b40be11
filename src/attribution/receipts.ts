import canonicalize from 'canonicalize';
import { getAddress, keccak256, recoverMessageAddress, stringToBytes, type Address, type Hex, type LocalAccount } from 'viem';
import type { Queryable } from '../store/database.ts';
import type { Receipt, ReceiptBody, StoredReceipt } from './receipt-types.ts';
import { CodedError } from '../util/coded-error.ts';

/** A receipt that does not check out (id or signature), or that does not exist. */
export class ReceiptError extends CodedError {
  override name = 'ReceiptError';
}

/** keccak256 of the UTF-8 text: how receipts identify a prompt and an output. */
export const textHash = (text: string): Hex => keccak256(stringToBytes(text));

/** A receipt's id: keccak256 of its body's canonical JSON (RFC 8785). */
export function receiptId(body: ReceiptBody): Hex {
  return keccak256(receiptBytes(body));
}

/**
 * A receipt body's canonical JSON (RFC 8785) as UTF-8 bytes: what its id hashes, and what the
 * chain's attribution verifier takes (it hashes them itself).
 *
 * @example
 * const body = receiptBytes(receipt.body); // keccak256(body) === receipt.id
 */
export function receiptBytes(body: ReceiptBody): Uint8Array {
  return stringToBytes(canonicalize(body)!);
}

/**
 * Signs a receipt body with the node's account (EIP-191 over the id).
 *
 * @example
 * const receipt = await signReceipt(account, body);
 */
export async function signReceipt(account: LocalAccount, body: ReceiptBody): Promise<Receipt> {
  const id = receiptId(body);
  return { id, body, signature: await account.signMessage({ message: { raw: id } }) };
}

/**
 * Checks that a receipt's id is its body's hash and that the node named in it signed it.
 *
 * @example
 * await checkReceiptSignature(receipt); // throws ReceiptError when tampered with
 */
export async function checkReceiptSignature(receipt: Receipt): Promise<void> {
  const id = receiptId(receipt.body);
  if (id !== receipt.id) throw new ReceiptError('bad_receipt', `the receipt's id ${receipt.id} is not the hash of its body (${id})`);
  const signer = await recoverMessageAddress({ message: { raw: id }, signature: receipt.signature });
  if (getAddress(signer) !== getAddress(receipt.body.node)) throw new ReceiptError('bad_signature', `the receipt is signed by ${signer}, not by the node ${receipt.body.node}`);
}

/**
 * Stores a receipt with its prompt and output texts and the contributions it credits, in one
 * transaction (the caller answers only after this resolves); `alsoInTransaction` runs in the same
 * transaction when the receipt is new (the meter records its charge there). Storing the same
 * receipt twice is a no-op.
 *
 * @example
 * await storeReceipt(db, receipt, { prompt, output, consumer }, (tx) => reservation.charge(tx, receipt));
 */
export async function storeReceipt(
  db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> },
  receipt: Receipt,
  o: { prompt: string; output: string; consumer: Address | null },
  alsoInTransaction?: (tx: Queryable) => Promise<void>,
): Promise<void> {
  await db.transaction(async (tx) => {
    const inserted = await tx.query(
      `insert into attribution_receipts (id, model_id, model_name, consumer, prompt, output, body, signature) values ($1, $2, $3, $4, $5, $6, $7, $8)
       on conflict (id) do nothing returning id`,
      [receipt.id, receipt.body.model.id, receipt.body.model.name, o.consumer, o.prompt, o.output, JSON.stringify(receipt.body), receipt.signature],
    );
    if (inserted.length === 0) return;
    for (const c of receipt.body.contributions) {
      await tx.query('insert into receipt_contributions (receipt_id, contribution_id, datanet_id, share_ppm) values ($1, $2, $3, $4)', [receipt.id, c.contributionId, c.datanetId, c.sharePpm]);
    }
    await alsoInTransaction?.(tx);
  });
}

/**
 * A receipt by id, with its prompt and output (what `attribution verify` recomputes from).
 *
 * @example
 * const { body, prompt, output } = await getReceipt(db, id);
 */
export async function getReceipt(db: Queryable, id: string): Promise<StoredReceipt> {
  const notFound = () => new ReceiptError('not_found', `no receipt ${id}`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(id)) throw notFound();
  const [row] = await db.query<{ id: string; body: ReceiptBody; signature: string; prompt: string; output: string; consumer: string | null }>(
    'select id, body, signature, prompt, output, consumer from attribution_receipts where id = $1',
    [id.toLowerCase()],
  );
  if (!row) throw notFound();
  return { id: row.id as Hex, body: row.body, signature: row.signature as Hex, prompt: row.prompt, output: row.output, consumer: row.consumer as Address | null };
}

/**
 * Receipts by id, with their texts, in the order asked (ids not stored are left out).
 *
 * @example
 * const receipts = await getReceipts(db, epochInputs.receipts);
 */
export async function getReceipts(db: Queryable, ids: readonly Hex[]): Promise<StoredReceipt[]> {
  const rows = await db.query<{ id: Hex; body: ReceiptBody; signature: Hex; prompt: string; output: string; consumer: Address | null }>(
    'select id, body, signature, prompt, output, consumer from attribution_receipts where id = any($1)', [ids.map((id) => id.toLowerCase())]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id.toLowerCase() as Hex) ?? []);
}

/** One credit of a receipt to a contribution: what `rewards --why` shows. */
export interface ReceiptCredit {
  receiptId: Hex;
  model: string;
  contributionId: Hex;
  datanetId: number;
  sharePpm: number;
  /** The parts of the answer found verbatim in the contribution's group. */
  quotes: string[];
  createdAt: string;
}

/**
 * The receipts that credited any of the given contributions, newest first (the largest share
 * first within one receipt), at most `limit`.
 *
 * @example
 * const credits = await creditsOf(db, await contributionIdsOf(db, contributor), 20);
 */
export async function creditsOf(db: Queryable, contributionIds: readonly Hex[], limit: number): Promise<ReceiptCredit[]> {
  const rows = await db.query<{ id: Hex; model_name: string; output: string; body: ReceiptBody; contribution_id: Hex; datanet_id: string; share_ppm: number; created_at: Date }>(
    `select r.id, r.model_name, r.output, r.body, rc.contribution_id, rc.datanet_id::text, rc.share_ppm, r.created_at
     from receipt_contributions rc join attribution_receipts r on r.id = rc.receipt_id
     where rc.contribution_id = any($1) order by r.created_at desc, rc.share_ppm desc limit $2`, [contributionIds.map((id) => id.toLowerCase()), limit]);
  return rows.map((r) => ({
    receiptId: r.id, model: r.model_name, contributionId: r.contribution_id, datanetId: Number(r.datanet_id), sharePpm: r.share_ppm, createdAt: r.created_at.toISOString(),
    quotes: (r.body.contributions.find((c) => c.contributionId === r.contribution_id)?.spans ?? []).map(([s, e]) => r.output.slice(s, e)),
  }));
}
