import { encodeAbiParameters, keccak256, numberToHex, zeroHash, type Address, type Hex } from 'viem';
import { callJsonRpc } from '../json-rpc.ts';
import { L2_TO_L1_MESSAGE_PASSER_ADDRESS } from '../profiles.ts';

/** The preimage of an output root (Types.OutputRootProof, version 0). */
export interface OutputRootProof {
  version: Hex;
  stateRoot: Hex;
  messagePasserStorageRoot: Hex;
  latestBlockhash: Hex;
}

/** An L2 block's output root and what it commits to. */
export interface L2Output {
  l2BlockNumber: bigint;
  outputRoot: Hex;
  proof: OutputRootProof;
}

interface ProofResult {
  storageHash: Hex;
  storageProof: { key: Hex; value: Hex; proof: Hex[] }[];
}

/**
 * The output root of L2 block `blockNumber` as the OP Stack defines it (version 0):
 * `keccak256(abi.encode(bytes32(0), stateRoot, messagePasserStorageRoot, blockHash))`, the storage
 * root of L2ToL1MessagePasser read with `eth_getProof` at that block (which the L2 must still hold:
 * anvil keeps the last 256 blocks' states).
 *
 * @example
 * const { outputRoot } = await outputAt(l2Url, 12n);
 */
export async function outputAt(l2Url: string, blockNumber: bigint): Promise<L2Output> {
  const tag = numberToHex(blockNumber);
  const [block, proof] = await Promise.all([
    callJsonRpc<{ hash: Hex; stateRoot: Hex }>(l2Url, 'eth_getBlockByNumber', [tag, false]),
    callJsonRpc<ProofResult>(l2Url, 'eth_getProof', [L2_TO_L1_MESSAGE_PASSER_ADDRESS, [], tag]),
  ]);
  const p: OutputRootProof = { version: zeroHash, stateRoot: block.stateRoot, messagePasserStorageRoot: proof.storageHash, latestBlockhash: block.hash };
  return { l2BlockNumber: blockNumber, outputRoot: hashOutputRootProof(p), proof: p };
}

/**
 * Hashing.hashOutputRootProof: the output root of its preimage.
 *
 * @example
 * hashOutputRootProof(output.proof) === output.outputRoot; // true
 */
export function hashOutputRootProof(p: OutputRootProof): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }, { type: 'bytes32' }], [p.version, p.stateRoot, p.messagePasserStorageRoot, p.latestBlockhash]));
}

/**
 * The storage proof of `slot` in L2ToL1MessagePasser at L2 block `blockNumber` (`eth_getProof`).
 *
 * @example
 * const proof = await passerStorageProof(l2Url, output.l2BlockNumber, getWithdrawalHashStorageSlot({ withdrawalHash }));
 */
export async function passerStorageProof(l2Url: string, blockNumber: bigint, slot: Hex, passer: Address = L2_TO_L1_MESSAGE_PASSER_ADDRESS): Promise<{ storageHash: Hex; value: Hex; proof: Hex[] }> {
  const r = await callJsonRpc<ProofResult>(l2Url, 'eth_getProof', [passer, [slot], numberToHex(blockNumber)]);
  const s = r.storageProof[0]!;
  return { storageHash: r.storageHash, value: s.value, proof: s.proof };
}
