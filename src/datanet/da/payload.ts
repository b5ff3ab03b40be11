import { bytesToHex, getAddress, hexToBytes, keccak256, type Address, type Hex } from 'viem';
import { contributionIdOf } from '../contribution-id.ts';
import { contributionTree } from '../merkle.ts';
import { DaPayloadError } from './errors.ts';

/**
 * One record of a batch, as its DA payload carries it: who contributed it and its canonical bytes
 * (RFC 8785 JSON for objects, the UTF-8 text for text). From these alone anyone recomputes the
 * content hash (keccak256 of the bytes), the contribution id (keccak256(abi.encode(contentHash,
 * contributor))) and so the batch's Merkle root.
 */
export interface BatchRecord {
  contributor: Address;
  content: Uint8Array;
}

/** Version byte of the payload format below. */
export const DA_PAYLOAD_VERSION = 1;
const HEADER = 1 + 4;
const RECORD_HEADER = 20 + 4;

/** A record with the ids the payload is ordered by. */
interface Identified extends BatchRecord {
  contentHash: Hex;
  id: Hex;
}

const identify = (r: BatchRecord): Identified => {
  const contentHash = keccak256(r.content);
  return { ...r, contributor: getAddress(r.contributor), contentHash, id: contributionIdOf(contentHash, getAddress(r.contributor)) };
};

/**
 * A batch's DA payload: the canonical, deterministic bytes of its records, the data a challenger
 * needs to rebuild the batch's Merkle root. Format (all integers big-endian):
 *
 *   version (1 byte, 1) ‖ record count (uint32) ‖ records, ascending by contribution id, each:
 *     contributor (20 bytes) ‖ content length (uint32) ‖ content (canonical bytes)
 *
 * The same set of records always gives the same bytes; a set with a contribution twice is refused.
 *
 * @example
 * const payload = encodeBatchPayload([{ contributor, content: canonicalBytes(record) }]);
 */
export function encodeBatchPayload(records: readonly BatchRecord[]): Uint8Array {
  if (records.length === 0) throw new DaPayloadError('a batch payload needs at least one record');
  const sorted = records.map(identify).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.id === sorted[i - 1]!.id) throw new DaPayloadError(`contribution ${sorted[i]!.id} is in the batch twice`);
  }
  const total = sorted.reduce((n, r) => n + RECORD_HEADER + r.content.length, HEADER);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = DA_PAYLOAD_VERSION;
  view.setUint32(1, sorted.length);
  let at = HEADER;
  for (const r of sorted) {
    out.set(hexToBytes(r.contributor), at);
    view.setUint32(at + 20, r.content.length);
    out.set(r.content, at + RECORD_HEADER);
    at += RECORD_HEADER + r.content.length;
  }
  return out;
}

/** A decoded batch payload: its records with their content hashes and ids, and the Merkle root they give. */
export interface DecodedBatch {
  records: Array<BatchRecord & { contentHash: Hex; id: Hex }>;
  /** Root of the contribution ids' tree, as DatanetRegistry anchors it. */
  root: Hex;
}

/**
 * Reads a payload of {@link encodeBatchPayload}'s format strictly: the version, every length, no
 * trailing bytes, and records in strictly ascending id order (so only the canonical bytes of a set
 * are accepted); {@link DaPayloadError} otherwise. Recomputes each record's ids and the root.
 *
 * @example
 * const { records, root } = decodeBatchPayload(payload);
 * if (root !== anchored.root) throw new Error('not this batch');
 */
export function decodeBatchPayload(payload: Uint8Array): DecodedBatch {
  if (payload.length < HEADER) throw new DaPayloadError(`a batch payload is at least ${HEADER} bytes, not ${payload.length}`);
  if (payload[0] !== DA_PAYLOAD_VERSION) throw new DaPayloadError(`unknown batch payload version ${payload[0]}`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const count = view.getUint32(1);
  if (count === 0) throw new DaPayloadError('a batch payload has no record');
  const records: DecodedBatch['records'] = [];
  let at = HEADER;
  for (let i = 0; i < count; i++) {
    if (at + RECORD_HEADER > payload.length) throw new DaPayloadError(`record ${i} of ${count} is cut short`);
    const contributor = getAddress(bytesToHex(payload.subarray(at, at + 20)));
    const length = view.getUint32(at + 20);
    const end = at + RECORD_HEADER + length;
    if (end > payload.length) throw new DaPayloadError(`record ${i} of ${count} is cut short`);
    const record = identify({ contributor, content: payload.slice(at + RECORD_HEADER, end) });
    const previous = records.at(-1);
    if (previous && !(previous.id < record.id)) throw new DaPayloadError(`records are not in strictly ascending id order at ${i}`);
    records.push(record);
    at = end;
  }
  if (at !== payload.length) throw new DaPayloadError(`${payload.length - at} bytes after the last record`);
  return { records, root: contributionTree(records.map((r) => r.id)).root as Hex };
}
