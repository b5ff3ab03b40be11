import { keccak256, type Address, type Hex } from 'viem';
import type { ProtocolContracts } from '../../chain/protocol.ts';
import type { DaBackend } from './backend.ts';
import { commitmentOfDaURI, keccakCommitmentOfHash } from './commitment.ts';
import { DaCommitmentMismatchError, DaPayloadError } from './errors.ts';
import { decodeBatchPayload, type DecodedBatch } from './payload.ts';

/** An anchored batch's data, fetched and checked against what the chain holds. */
export interface FetchedBatch extends DecodedBatch {
  datanetId: bigint;
  batchIndex: bigint;
  /** keccak256 of the payload, as anchored; the challenge contract's commitment is `0x00 ‖ dataHash`. */
  dataHash: Hex;
  /** The commitment the data was fetched by (the batch's `altda:` uri, or the keccak commitment). */
  commitment: Hex;
  submitter: Address;
  anchoredBlock: bigint;
  payload: Uint8Array;
}

/** The batch facts on chain a fetch starts from. */
export interface AnchoredBatch {
  root: Hex;
  count: bigint;
  uri: string;
  dataHash: Hex;
  submitter: Address;
  anchoredBlock: bigint;
}

/**
 * An anchored batch as DatanetRegistry holds it (`getBatch` and `batchDataOf`); a zero submitter
 * means no such batch.
 *
 * @example
 * const { dataHash, uri } = await anchoredBatch(registry, 1n, 0n);
 */
export async function anchoredBatch(registry: ProtocolContracts['datanetRegistry'], datanetId: bigint, batchIndex: bigint): Promise<AnchoredBatch> {
  const [record, [dataHash, submitter, anchoredBlock]] = await Promise.all([registry.read.getBatch([datanetId, batchIndex]), registry.read.batchDataOf([datanetId, batchIndex])]);
  return { root: record.root, count: record.count, uri: record.uri, dataHash, submitter, anchoredBlock };
}

/**
 * Fetches an anchored batch's DA payload through a DA backend, by the commitment its uri names (a
 * keccak commitment of its data hash when the uri names none), and checks it all the way to the
 * chain: the payload hashes to the anchored data hash (`DaCommitmentMismatchError` otherwise, whatever
 * the backend verified), it decodes (`DaPayloadError`), and its records rebuild the anchored root
 * and count (`DaPayloadError`). What a challenger and a verifier read a batch's records through.
 *
 * @example
 * const batch = await fetchBatchData(ctx.contracts.datanetRegistry, altDaHttpBackend(url), 1n, 0n);
 * for (const r of batch.records) console.log(r.contributor, r.id);
 */
export async function fetchBatchData(registry: ProtocolContracts['datanetRegistry'], da: DaBackend, datanetId: bigint, batchIndex: bigint): Promise<FetchedBatch> {
  const anchored = await anchoredBatch(registry, datanetId, batchIndex);
  if (anchored.submitter === '0x0000000000000000000000000000000000000000') throw new DaPayloadError(`datanet ${datanetId} has no batch ${batchIndex} with a DA commitment`);
  const commitment = commitmentOfDaURI(anchored.uri) ?? keccakCommitmentOfHash(anchored.dataHash);
  const payload = await da.get(commitment);
  const actual = keccak256(payload);
  if (actual !== anchored.dataHash) throw new DaCommitmentMismatchError(keccakCommitmentOfHash(anchored.dataHash), keccakCommitmentOfHash(actual), `the data of batch ${batchIndex}`);
  const decoded = decodeBatchPayload(payload);
  if (decoded.root !== anchored.root || BigInt(decoded.records.length) !== anchored.count) {
    throw new DaPayloadError(`the data of batch ${batchIndex} of datanet ${datanetId} gives root ${decoded.root} over ${decoded.records.length} records, not the anchored ${anchored.root} over ${anchored.count}`);
  }
  return { ...decoded, datanetId, batchIndex, dataHash: anchored.dataHash, commitment, submitter: anchored.submitter, anchoredBlock: anchored.anchoredBlock, payload };
}
