import { SimpleMerkleTree } from '@openzeppelin/merkle-tree';
import { concat, encodeAbiParameters, keccak256, zeroHash, type Address, type Hex } from 'viem';
import type { EpochCall } from './epoch-tree.ts';

// An epoch's skill calls as one Merkle root, pure and browser-safe: what the operator posts to
// SkillCallRoots beside the epoch's earnings root, so that a contract can open it — to accept
// feedback for a paid call (ReputationRegistry) or to check a fraud proof against the operator's
// call trees. The epoch's `inputsHash` commits to the same calls, but no contract can open it.

/**
 * The ABI types of a call's leaf, in order: (callId, parentCallId, skill, agent, payer, price,
 * inputHash, outputHash, receiptsHash, childrenHash) — the signed `SkillCall` with its two lists
 * replaced by keccak256(abi.encodePacked(list)). SkillCallRoots' `CallLeaf` has these fields in this order.
 */
export const CALL_LEAF_TYPES = ['bytes32', 'bytes32', 'bytes32', 'address', 'address', 'uint256', 'bytes32', 'bytes32', 'bytes32', 'bytes32'] as const;

/** A call's leaf as the tree holds it (the price as a decimal string, as epoch inputs serve it). */
export type CallLeafValues = [callId: Hex, parentCallId: Hex, skill: Hex, agent: Address, payer: Address, price: string, inputHash: Hex, outputHash: Hex, receiptsHash: Hex, childrenHash: Hex];

/** A call's leaf as the contracts take it (SkillCallRoots' `CallLeaf` struct). */
export interface CallLeaf {
  callId: Hex;
  parentCallId: Hex;
  skill: Hex;
  agent: Address;
  payer: Address;
  price: bigint;
  inputHash: Hex;
  outputHash: Hex;
  receiptsHash: Hex;
  childrenHash: Hex;
}

/** A call with what a fraud proof needs of it (SkillCallRoots' `ProvenCall`), and its tree values. */
export interface CallProof {
  leaf: CallLeaf;
  values: CallLeafValues;
  /** The call's lists, which hash to the leaf's `receiptsHash` and `childrenHash`. */
  inferenceReceipts: Hex[];
  children: Hex[];
  /** Proof of the leaf against {@link callRoot} of the same calls. */
  proof: Hex[];
}

/**
 * The root of an epoch without skill calls: zero. No tree has it (a node is a keccak256 output), so
 * no proof verifies against it; the operator posts no call root for such an epoch (SkillCallRoots
 * refuses a zero one), which reads the same on chain.
 */
export const EMPTY_CALL_ROOT: Hex = zeroHash;

/** keccak256(abi.encodePacked(list)) of a bytes32[]: the 32-byte items back to back (keccak256 of nothing for an empty list). */
export const hashList = (list: readonly Hex[]): Hex => keccak256(list.length === 0 ? '0x' : concat([...list]));

/**
 * A served call's leaf: its fields, with its inference receipts and children hashed.
 *
 * @example
 * const leaf = callLeaf(inputs.calls[0]);
 */
export function callLeaf(call: EpochCall): CallLeaf {
  const c = call.call;
  return {
    callId: c.callId, parentCallId: c.parentCallId, skill: c.skill, agent: c.agent, payer: c.payer, price: BigInt(c.price),
    inputHash: c.inputHash, outputHash: c.outputHash, receiptsHash: hashList(c.inferenceReceipts), childrenHash: hashList(c.children),
  };
}

/** The leaf's values in the order of {@link CALL_LEAF_TYPES}. */
export function callLeafValues(leaf: CallLeaf): CallLeafValues {
  return [leaf.callId, leaf.parentCallId, leaf.skill, leaf.agent, leaf.payer, leaf.price.toString(), leaf.inputHash, leaf.outputHash, leaf.receiptsHash, leaf.childrenHash];
}

/**
 * A call's leaf hash as OpenZeppelin's standard trees (and `MerkleProof` with SkillCallRoots'
 * `callLeafHash`) hash it: keccak256(keccak256(abi.encode(values))).
 */
export function callLeafHash(leaf: CallLeaf): Hex {
  return keccak256(keccak256(encodeAbiParameters(CALL_LEAF_TYPES.map((type) => ({ type })), callLeafValues(leaf).map((v, i) => (i === 5 ? BigInt(v) : v)))));
}

/**
 * The tree of an epoch's calls: OpenZeppelin standard leaves ({@link callLeafHash}), sorted by hash
 * as the library sorts them — so the root does not depend on the calls' order, only on the set.
 * Hashed with viem and built as a `SimpleMerkleTree` of the leaf hashes: the same tree as a
 * `StandardMerkleTree` of the values, twice as fast (its encoder builds an error for every value it
 * checks). Throws when a call id is listed twice (the epoch's split refuses that too). Undefined for
 * no calls: see {@link callRoot}.
 */
export function callTree(calls: readonly EpochCall[]): { tree: SimpleMerkleTree; leaves: Map<string, Hex> } | undefined {
  if (calls.length === 0) return undefined;
  const leaves = new Map<string, Hex>();
  for (const c of calls) {
    const id = c.call.callId.toLowerCase();
    if (leaves.has(id)) throw new Error(`call ${c.call.callId} is listed twice`);
    leaves.set(id, callLeafHash(callLeaf(c)));
  }
  return { tree: SimpleMerkleTree.of([...leaves.values()]), leaves };
}

/**
 * The call root an operator posts for an epoch settling `calls` ({@link EMPTY_CALL_ROOT}, zero, for
 * none). Independent of the calls' order.
 *
 * @example
 * const root = callRoot(inputs.calls ?? []);
 * if (root !== EMPTY_CALL_ROOT) await skillCallRoots.write.postCallRoot([BigInt(inputs.epoch), root]);
 */
export function callRoot(calls: readonly EpochCall[]): Hex {
  return (callTree(calls)?.tree.root as Hex | undefined) ?? EMPTY_CALL_ROOT;
}

/**
 * Call `callId`'s leaf, its lists and its proof against {@link callRoot} of `calls`: what
 * ReputationRegistry.giveFeedback takes (`leaf`, `proof`) and what SkillCallRoots' fraud proofs take
 * (`{ leaf, inferenceReceipts, children, proof }`). Throws when `callId` is not among the calls.
 *
 * @example
 * const { leaf, proof } = callProof(inputs.calls!, callId);
 * const paid = await skillCallRoots.read.isPaidCall([operator, epoch, leaf, proof]);
 */
export function callProof(calls: readonly EpochCall[], callId: Hex): CallProof {
  const t = callTree(calls);
  const i = calls.findIndex((c) => c.call.callId.toLowerCase() === callId.toLowerCase());
  if (!t || i < 0) throw new Error(`call ${callId} is not among the epoch's calls`);
  const leaf = callLeaf(calls[i]!);
  return { leaf, values: callLeafValues(leaf), inferenceReceipts: [...calls[i]!.call.inferenceReceipts], children: [...calls[i]!.call.children], proof: t.tree.getProof(t.leaves.get(callId.toLowerCase())!) as Hex[] };
}

/**
 * Whether `proof` shows `leaf` in the call root `root` (what SkillCallRoots checks before the epoch's status).
 *
 * @example
 * verifyCallProof(root, leaf, proof); // true
 */
export function verifyCallProof(root: Hex, leaf: CallLeaf, proof: readonly Hex[]): boolean {
  if (root === EMPTY_CALL_ROOT) return false;
  return SimpleMerkleTree.verify(root, callLeafHash(leaf), [...proof]);
}
