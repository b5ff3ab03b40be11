import type { Readable } from 'node:stream';
import type { BlobHash } from './blob-hash.ts';

/**
 * What a blob can be put from: bytes, or any async iterable of chunks (a Node `Readable`, a web
 * `ReadableStream`, an async generator), read once, chunk by chunk. Strings are UTF-8 encoded.
 */
export type BlobSource = Uint8Array | AsyncIterable<Uint8Array | string>;

/** Options of {@link BlobStore.put}. */
export interface PutOptions {
  /** The hash the content must have (say, the one registered on chain); otherwise nothing is stored and the put throws `BlobHashMismatchError`. */
  expectedHash?: BlobHash;
  /** Largest accepted content in bytes; a larger one throws `BlobTooLargeError` as soon as it is exceeded, and nothing is stored. */
  maxSize?: number;
}

/** What a put stored. */
export interface PutResult {
  hash: BlobHash;
  size: number;
  /** False when the blob was already there (the put changed nothing). */
  created: boolean;
}

/**
 * Content-addressed, immutable blobs: a blob's address is the keccak256 of its bytes, so the same
 * bytes are stored once and every read can be checked against the address.
 *
 * Reads verify: `get` throws `BlobCorruptError` when the stored bytes do not hash to the address;
 * `open` checks as the stream is consumed and, on a mismatch, errors the stream instead of ending
 * it. So a caller of `open` must not act on the data (answer a client, commit a record) before
 * the stream has ended without error; a caller that needs certainty first uses `get` (small
 * blobs) or reads the stream to the end into a temporary place.
 *
 * Hashes given to any method are checked (`InvalidBlobHashError`) and may be in either case.
 */
export interface BlobStore {
  readonly kind: 'disk' | 's3';
  /**
   * Stores the content and returns its address. A stream is hashed as it is written, never held
   * in memory whole. Atomic: a blob is there whole or not at all, whatever fails or crashes
   * (an interrupted put leaves nothing under the address). Putting content that is already there
   * changes nothing (`created: false`).
   */
  put(source: BlobSource, options?: PutOptions): Promise<PutResult>;
  /** The whole blob, verified; `BlobNotFoundError` if absent, `BlobCorruptError` if damaged. Holds the blob in memory: for large ones use `open`. */
  get(hash: BlobHash): Promise<Uint8Array>;
  /** The blob as a stream, verified as it is read (see above); `BlobNotFoundError` (rejected, before any byte) if absent. */
  open(hash: BlobHash): Promise<Readable>;
  has(hash: BlobHash): Promise<boolean>;
  /** Stored size in bytes (not verified); `BlobNotFoundError` if absent. */
  size(hash: BlobHash): Promise<number>;
  /** Removes the blob; resolves to whether it was there. */
  delete(hash: BlobHash): Promise<boolean>;
  /** Every stored blob's address, in no promised order (streamed: the store is never listed into memory). */
  list(): AsyncIterable<BlobHash>;
  /** Releases the store's resources (connections); the store cannot be used afterwards. */
  close(): Promise<void>;
}
