import { isAddressEqual, toHex, type Address, type Hex, type PublicClient } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { receiptBytes, receiptId } from '../attribution/receipts.ts';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import { callProof, type CallProof } from './call-root.ts';
import type { EpochCall } from './epoch-tree.ts';

/** What SkillCallRoots.proveForeignInference takes: the call that lists the receipt, and the receipt's body bytes. */
export interface ForeignInferenceProof {
  call: CallProof;
  /** The body's canonical JSON bytes (they hash to an id the call lists). */
  receipt: Hex;
  receiptId: Hex;
  /** The node the body names (not the operator). */
  node: Address;
}

/**
 * A proof that an operator's epoch settles an inference another node served: among the served
 * receipts, one whose body names a node other than `operator` and whose id (its body's hash, not the
 * id served beside it) a call of the epoch lists; undefined when there is none.
 *
 * @example
 * const proof = foreignInferenceProof(evidence.chain.operator, evidence.inputs.calls ?? [], evidence.receipts);
 */
export function foreignInferenceProof(operator: Address, calls: readonly EpochCall[], receipts: ReadonlyArray<{ body: ReceiptBody }>): ForeignInferenceProof | undefined {
  for (const r of receipts) {
    if (isAddressEqual(r.body.node, operator)) continue;
    const id = receiptId(r.body);
    const listing = calls.find((c) => c.call.inferenceReceipts.some((listed) => listed.toLowerCase() === id.toLowerCase()));
    if (listing) return { call: callProof(calls, listing.call.callId), receipt: toHex(receiptBytes(r.body)), receiptId: id, node: r.body.node };
  }
  return undefined;
}

/**
 * Decides a dispute this account opened, on chain and at once, when the epoch admits a
 * {@link foreignInferenceProof}: SkillCallRoots checks the call against the posted call root, has
 * the attribution verifier read the receipt's node, and upholds the dispute (the bond comes back to
 * whoever opened it). Answers the proof it sent, or undefined when there is none to send.
 *
 * @example
 * const proof = await proveForeignInference({ contracts, publicClient }, operator, epoch, inputs.calls ?? [], receipts);
 */
export async function proveForeignInference(
  chain: { contracts: Pick<ProtocolContracts, 'skillCallRoots'>; publicClient: Pick<PublicClient, 'waitForTransactionReceipt'> },
  operator: Address,
  epoch: number,
  calls: readonly EpochCall[],
  receipts: ReadonlyArray<{ body: ReceiptBody }>,
): Promise<ForeignInferenceProof | undefined> {
  const proof = foreignInferenceProof(operator, calls, receipts);
  if (!proof) return undefined;
  const { leaf, inferenceReceipts, children, proof: path } = proof.call;
  const hash = await chain.contracts.skillCallRoots.write.proveForeignInference([operator, BigInt(epoch), { leaf, inferenceReceipts, children, proof: path }, proof.receipt]);
  const mined = await chain.publicClient.waitForTransactionReceipt({ hash });
  if (mined.status !== 'success') throw new Error(`proveForeignInference reverted (tx ${hash})`);
  return proof;
}
