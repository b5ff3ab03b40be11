import type { BlobHash } from './blob-hash.ts';

/** Base class of errors raised by the blob store. */
export class BlobError extends Error {
  override name = 'BlobError';
}

/** A value given as a blob address is not `0x` followed by 64 hex digits. */
export class InvalidBlobHashError extends BlobError {
  override name = 'InvalidBlobHashError';
  readonly value: unknown;
  constructor(value: unknown) {
    super(`not a blob hash (0x + 64 hex digits): ${JSON.stringify(String(value)).slice(0, 80)}`);
    this.value = value;
  }
}

/** No blob is stored under this hash. */
export class BlobNotFoundError extends BlobError {
  override name = 'BlobNotFoundError';
  readonly hash: BlobHash;
  constructor(hash: BlobHash) {
    super(`blob ${hash} not found`);
    this.hash = hash;
  }
}

/** The stored bytes do not hash to the blob's address: the stored copy is damaged. */
export class BlobCorruptError extends BlobError {
  override name = 'BlobCorruptError';
  readonly hash: BlobHash;
  /** keccak256 of the bytes that were read. */
  readonly actual: BlobHash;
  /** How many bytes were read. */
  readonly size: number;
  constructor(hash: BlobHash, actual: BlobHash, size: number) {
    super(`blob ${hash} is corrupt: its ${size} stored bytes hash to ${actual}`);
    this.hash = hash;
    this.actual = actual;
    this.size = size;
  }
}

/** A put's content does not hash to the hash the caller announced; nothing was stored. */
export class BlobHashMismatchError extends BlobError {
  override name = 'BlobHashMismatchError';
  readonly expected: BlobHash;
  readonly actual: BlobHash;
  constructor(expected: BlobHash, actual: BlobHash) {
    super(`content hashes to ${actual}, not to the expected ${expected}; nothing was stored`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A put's content is larger than the limit the caller set; nothing was stored. */
export class BlobTooLargeError extends BlobError {
  override name = 'BlobTooLargeError';
  readonly maxSize: number;
  constructor(maxSize: number) {
    super(`content is larger than the limit of ${maxSize} bytes; nothing was stored`);
    this.maxSize = maxSize;
  }
}
