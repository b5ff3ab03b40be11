import { toHex, type Address, type Hex, type PublicClient } from 'viem';
import { ATTRIBUTION_VERIFIER_ADDRESS } from '../chain/attribution-verifier.ts';
import { attributionVerifierAbi } from '../chain/generated/index.ts';
import { receiptBytes } from '../attribution/receipts.ts';
import type { Receipt } from '../attribution/receipt-types.ts';

/** Receipts per `eth_call`, at most. */
export const RECEIPTS_PER_CALL = 128;
/**
 * Body bytes per `eth_call`, at most (one receipt more if that one alone is bigger): calldata costs
 * 40 gas a byte under EIP-7623's floor, so 256 KiB stays near 10.5M gas, well inside a call's gas
 * cap, and its hex (~520 KiB) inside the node relay's 1 MiB request limit (the web app's path).
 */
export const RECEIPT_BYTES_PER_CALL = 256 * 1024;

/** The chain's verdict on one receipt. */
export interface OnChainReceiptVerdict {
  id: Hex;
  /** The id the chain computed from the body's bytes. */
  computedId: Hex;
  /** Whether the body names the operator and this chain, and the operator signed it. */
  signed: boolean;
}

/**
 * Asks the chain's attribution verifier (its predeploy, through `eth_call`) which receipts are
 * `operator`'s on this chain, in batches ({@link RECEIPTS_PER_CALL}, {@link RECEIPT_BYTES_PER_CALL}): the chain hashes each body itself and checks the
 * signature as the chain would in a fraud proof (ECDSA, or ERC-1271 for a contract signer).
 *
 * @example
 * const verdicts = await onChainReceiptVerdicts(publicClient, operator, served.receipts);
 */
export async function onChainReceiptVerdicts(
  client: Pick<PublicClient, 'readContract'>,
  operator: Address,
  receipts: ReadonlyArray<Pick<Receipt, 'id' | 'body' | 'signature'>>,
): Promise<OnChainReceiptVerdict[]> {
  const verdicts: OnChainReceiptVerdict[] = [];
  const check = async (batch: Array<{ id: Hex; body: Hex; signature: Hex }>) => {
    if (batch.length === 0) return;
    const [ids, signed] = await client.readContract({
      address: ATTRIBUTION_VERIFIER_ADDRESS,
      abi: attributionVerifierAbi,
      functionName: 'checkReceipts',
      args: [operator, batch.map(({ body, signature }) => ({ body, signature }))],
    });
    batch.forEach((r, i) => verdicts.push({ id: r.id, computedId: ids[i]!, signed: signed[i]! }));
  };
  let batch: Array<{ id: Hex; body: Hex; signature: Hex }> = [];
  let bytes = 0;
  for (const r of receipts) {
    const body = receiptBytes(r.body);
    if (batch.length === RECEIPTS_PER_CALL || (batch.length > 0 && bytes + body.length > RECEIPT_BYTES_PER_CALL)) {
      await check(batch);
      batch = [];
      bytes = 0;
    }
    batch.push({ id: r.id, body: toHex(body), signature: r.signature });
    bytes += body.length;
  }
  await check(batch);
  return verdicts;
}

/**
 * What the chain's verifier refuses among an epoch's receipts, in words (empty when it accepts
 * them all): an id that is not its body's hash, or a receipt that is not the operator's on this
 * chain (with the node and chain its body names).
 *
 * @example
 * problems.push(...(await onChainReceiptProblems(publicClient, operator, served.receipts)));
 */
export async function onChainReceiptProblems(
  client: Pick<PublicClient, 'readContract'>,
  operator: Address,
  receipts: ReadonlyArray<Pick<Receipt, 'id' | 'body' | 'signature'>>,
): Promise<string[]> {
  const problems: string[] = [];
  // the verdicts come in the receipts' order
  for (const [i, v] of (await onChainReceiptVerdicts(client, operator, receipts)).entries()) {
    if (v.computedId.toLowerCase() !== v.id.toLowerCase()) {
      problems.push(`receipt ${v.id}: the chain's attribution verifier hashes its body to ${v.computedId}`);
    } else if (!v.signed) {
      const body = receipts[i]!.body;
      problems.push(`receipt ${v.id}: the chain's attribution verifier refuses it as ${operator}'s on this chain (its body names node ${body.node} on chain ${body.chainId})`);
    }
  }
  return problems;
}
