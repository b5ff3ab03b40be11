import { randomBytes } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { bytesToHex, concatBytes, fromRlp, hexToBigInt, hexToBytes, numberToHex, toRlp, type Hex } from 'viem';
import { ChainError } from '../errors.ts';

/** Batch data that does not decode. */
export class BatchDecodeError extends ChainError {
  override name = 'BatchDecodeError';
}

/** One L2 block as a batch carries it: its parent, its L1 origin ("epoch"), its time, its transactions (deposits excluded). */
export interface SingularBatch {
  parentHash: Hex;
  epochNumber: bigint;
  epochHash: Hex;
  timestamp: bigint;
  /** Raw EIP-2718 transactions, deposits excluded (those come from L1). */
  transactions: Hex[];
}

/** Bytes of frame data one frame carries at most. */
export const MAX_FRAME_DATA = 100_000;

const rlpNumber = (n: bigint): Hex => (n === 0n ? '0x' : numberToHex(n));

/**
 * A channel of singular batches in the OP Stack's layout: each batch `0x00 ‖ rlp([parentHash,
 * epochNumber, epochHash, timestamp, [tx…]])` as an RLP string, concatenated and zlib-compressed.
 *
 * @example
 * const channel = encodeChannel([batch]);
 */
export function encodeChannel(batches: SingularBatch[]): Uint8Array {
  const parts = batches.map((b) =>
    hexToBytes(toRlp(bytesToHex(concatBytes([new Uint8Array([0]), hexToBytes(toRlp([b.parentHash, rlpNumber(b.epochNumber), b.epochHash, rlpNumber(b.timestamp), b.transactions]))])))),
  );
  return deflateSync(concatBytes(parts));
}

/**
 * Frames of a channel (OP Stack layout): `channelId (16) ‖ frameNumber (uint16) ‖ length (uint32) ‖
 * data ‖ isLast (1 byte)`, preceded by the derivation version byte 0 — the batcher transaction's
 * data (here carried in blobs).
 *
 * @example
 * const data = framesOf(encodeChannel(batches));
 */
export function framesOf(channel: Uint8Array, channelId: Uint8Array = randomBytes(16)): Uint8Array {
  const frames: Uint8Array[] = [new Uint8Array([0])];
  const count = Math.max(1, Math.ceil(channel.length / MAX_FRAME_DATA));
  for (let i = 0; i < count; i++) {
    const data = channel.subarray(i * MAX_FRAME_DATA, (i + 1) * MAX_FRAME_DATA);
    const head = new Uint8Array(16 + 2 + 4);
    head.set(channelId, 0);
    const view = new DataView(head.buffer);
    view.setUint16(16, i);
    view.setUint32(18, data.length);
    frames.push(head, data, new Uint8Array([i === count - 1 ? 1 : 0]));
  }
  return concatBytes(frames);
}

/**
 * The batches in a batcher transaction's data ({@link framesOf} of {@link encodeChannel}): frames
 * joined in order, decompressed, each RLP string decoded as a version-0 singular batch.
 *
 * @example
 * const batches = decodeBatcherData(fromBlobs({ blobs, to: 'bytes' }));
 */
export function decodeBatcherData(data: Uint8Array): SingularBatch[] {
  if (data[0] !== 0) throw new BatchDecodeError(`derivation version ${data[0]}: only 0 is known`);
  const chunks: Uint8Array[] = [];
  let at = 1;
  for (;;) {
    if (at + 23 > data.length) throw new BatchDecodeError('a frame is cut short');
    const view = new DataView(data.buffer, data.byteOffset + at);
    const n = view.getUint16(16);
    const length = view.getUint32(18);
    if (n !== chunks.length) throw new BatchDecodeError(`frame ${n} where ${chunks.length} was expected`);
    chunks.push(data.subarray(at + 22, at + 22 + length));
    const isLast = data[at + 22 + length];
    at += 22 + length + 1;
    if (isLast === 1) break;
  }
  let raw: Uint8Array = inflateSync(concatBytes(chunks));
  const batches: SingularBatch[] = [];
  while (raw.length > 0) {
    const [item, rest] = firstRlpItem(raw);
    raw = rest;
    const bytes = hexToBytes(fromRlp(bytesToHex(item), 'hex') as Hex);
    if (bytes[0] !== 0) throw new BatchDecodeError(`batch type ${bytes[0]}: only singular batches (0) are known`);
    const [parentHash, epochNumber, epochHash, timestamp, transactions] = fromRlp(bytesToHex(bytes.subarray(1)), 'hex') as [Hex, Hex, Hex, Hex, Hex[]];
    const num = (h: Hex) => (h === '0x' ? 0n : hexToBigInt(h));
    batches.push({ parentHash, epochNumber: num(epochNumber), epochHash, timestamp: num(timestamp), transactions });
  }
  return batches;
}

/** The first RLP item of `bytes` (its whole encoding) and what follows it. */
function firstRlpItem(bytes: Uint8Array): [Uint8Array, Uint8Array] {
  const p = bytes[0]!;
  let length: number;
  if (p < 0x80) length = 1;
  else if (p <= 0xb7) length = 1 + p - 0x80;
  else if (p < 0xc0) {
    const n = p - 0xb7;
    length = 1 + n + Number(hexToBigInt(bytesToHex(bytes.subarray(1, 1 + n))));
  } else if (p <= 0xf7) length = 1 + p - 0xc0;
  else {
    const n = p - 0xf7;
    length = 1 + n + Number(hexToBigInt(bytesToHex(bytes.subarray(1, 1 + n))));
  }
  if (length > bytes.length) throw new BatchDecodeError('an RLP item is cut short');
  return [bytes.subarray(0, length), bytes.subarray(length)];
}
