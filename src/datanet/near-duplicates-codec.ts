/**
 * The byte format of a serialized near-duplicate index: its parameters, then each id with its
 * MinHash signature in insertion order. Band buckets are not stored; restoring rebuilds them from
 * the signatures (cheap: b hashes per id), which is also what lets a restored index take another
 * threshold.
 *
 * Layout, all integers little-endian:
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 4 | magic `OLND` |
 * | 4 | 2 | format version (1) |
 * | 6 | 1 | shingle kind: 0 words, 1 chars |
 * | 7 | 1 | shingle size |
 * | 8 | 4 | MinHash seed |
 * | 12 | 2 | numPerm |
 * | 14 | 2 | bands |
 * | 16 | 2 | rows |
 * | 18 | 2 | zero |
 * | 20 | 8 | threshold (float64) |
 * | 28 | 4 | count of ids |
 * | 32 | 4 | byte length L of the ids section |
 * | 36 | L | ids: each a u16 byte length and its UTF-8 |
 * | 36 + L, padded to 4 | count × numPerm × 4 | signatures, u32 each |
 * | end − 4 | 4 | CRC-32 of every byte before it |
 */
import { crc32 } from 'node:zlib';
import type { LshBands } from './lsh-bands.ts';
import { NearDuplicateError } from './near-duplicates-errors.ts';
import type { ShingleOptions } from './shingles.ts';

/**
 * Bump when the format, the text normalisation, the shingle hashing or the permutations change:
 * signatures made by another version are not comparable, so restoring refuses them and the node
 * rebuilds the index from the texts. (The golden-signature test fails when the algorithm changes.)
 */
export const FORMAT_VERSION = 1;
const MAGIC = 0x444e4c4f; // 'OLND' read as a little-endian u32
const HEADER = 36;

/** The parameters of an index, as stored. */
export interface IndexParameters extends LshBands {
  threshold: number;
  numPerm: number;
  seed: number;
  shingle: ShingleOptions;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes of an index with `parameters` holding `entries` (ids and signatures, in insertion order).
 *
 * @example
 * const bytes = encodeIndex(parameters, lsh.entries());
 */
export function encodeIndex(parameters: IndexParameters, entries: Iterable<[string, Uint32Array]>): Uint8Array {
  const list = [...entries];
  const ids = list.map(([id]) => encoder.encode(id));
  for (const id of ids) if (id.length > 0xffff) throw new RangeError(`an id of ${id.length} bytes cannot be serialized (at most 65535)`);
  const idsLength = ids.reduce((n, id) => n + 2 + id.length, 0);
  const signaturesAt = align4(HEADER + idsLength);
  const total = signaturesAt + list.length * parameters.numPerm * 4 + 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, FORMAT_VERSION, true);
  view.setUint8(6, parameters.shingle.kind === 'words' ? 0 : 1);
  view.setUint8(7, parameters.shingle.size);
  view.setUint32(8, parameters.seed, true);
  view.setUint16(12, parameters.numPerm, true);
  view.setUint16(14, parameters.bands, true);
  view.setUint16(16, parameters.rows, true);
  view.setFloat64(20, parameters.threshold, true);
  view.setUint32(28, list.length, true);
  view.setUint32(32, idsLength, true);
  let at = HEADER;
  for (const id of ids) {
    view.setUint16(at, id.length, true);
    out.set(id, at + 2);
    at += 2 + id.length;
  }
  at = signaturesAt;
  for (const [, signature] of list) {
    for (let i = 0; i < signature.length; i++, at += 4) view.setUint32(at, signature[i]!, true);
  }
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

/**
 * The parameters and entries of serialized index bytes. Throws {@link NearDuplicateError}
 * `corrupt_near_duplicate_index` for bytes that are not a whole, unaltered index, and
 * `unsupported_near_duplicate_index` for another format version.
 *
 * @example
 * const { parameters, entries } = decodeIndex(bytes);
 */
export function decodeIndex(bytes: Uint8Array): { parameters: IndexParameters; entries: [string, Uint32Array][] } {
  const corrupt = (why: string) => new NearDuplicateError('corrupt_near_duplicate_index', `serialized near-duplicate index: ${why}`);
  if (bytes.length < HEADER + 4) throw corrupt(`${bytes.length} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw corrupt('not a near-duplicate index (bad magic)');
  const version = view.getUint16(4, true);
  if (version !== FORMAT_VERSION) {
    throw new NearDuplicateError('unsupported_near_duplicate_index', `serialized near-duplicate index has format version ${version}; this node reads ${FORMAT_VERSION}`);
  }
  const end = bytes.length - 4;
  if (view.getUint32(end, true) !== crc32(bytes.subarray(0, end))) throw corrupt('checksum mismatch');
  const kind = view.getUint8(6);
  if (kind > 1) throw corrupt(`unknown shingle kind ${kind}`);
  const parameters: IndexParameters = {
    shingle: { kind: kind === 0 ? 'words' : 'chars', size: view.getUint8(7) },
    seed: view.getUint32(8, true),
    numPerm: view.getUint16(12, true),
    bands: view.getUint16(14, true),
    rows: view.getUint16(16, true),
    threshold: view.getFloat64(20, true),
  };
  const count = view.getUint32(28, true);
  const idsLength = view.getUint32(32, true);
  const signaturesAt = align4(HEADER + idsLength);
  if (signaturesAt + count * parameters.numPerm * 4 !== end) throw corrupt('lengths do not add up');
  const entries: [string, Uint32Array][] = [];
  let at = HEADER;
  let sigAt = signaturesAt;
  for (let n = 0; n < count; n++) {
    if (at + 2 > HEADER + idsLength) throw corrupt('ids section too short');
    const length = view.getUint16(at, true);
    if (at + 2 + length > HEADER + idsLength) throw corrupt('ids section too short');
    let id: string;
    try {
      id = decoder.decode(bytes.subarray(at + 2, at + 2 + length));
    } catch {
      throw corrupt('an id is not UTF-8');
    }
    at += 2 + length;
    const signature = new Uint32Array(parameters.numPerm);
    for (let i = 0; i < signature.length; i++, sigAt += 4) signature[i] = view.getUint32(sigAt, true);
    entries.push([id, signature]);
  }
  if (at !== HEADER + idsLength) throw corrupt('ids section too long');
  return { parameters, entries };
}

function align4(n: number) {
  return (n + 3) & ~3;
}
