import { createKeccak } from 'hash-wasm';
import { InvalidBlobHashError } from './blob-errors.ts';

/** A blob's address: keccak256 of its bytes, `0x` + 64 lowercase hex digits. */
export type BlobHash = `0x${string}`;

const HASH = /^0x[0-9a-fA-F]{64}$/;

/**
 * Whether `value` is a blob address (`0x` + 64 hex digits, either case).
 *
 * @example
 * isBlobHash('0x' + 'ab'.repeat(32)); // true
 */
export function isBlobHash(value: unknown): value is BlobHash {
  return typeof value === 'string' && HASH.test(value);
}

/**
 * Checks that `value` is a blob address and returns it in lowercase, the form used in paths and
 * keys; throws {@link InvalidBlobHashError} otherwise (so no caller-supplied string reaches a
 * file path or an object key unchecked).
 *
 * @example
 * const hash = toBlobHash(request.params.hash);
 */
export function toBlobHash(value: unknown): BlobHash {
  if (!isBlobHash(value)) throw new InvalidBlobHashError(value);
  return value.toLowerCase() as BlobHash;
}

/** An incremental keccak256: feed it chunks, then read the blob address. */
export interface BlobHasher {
  update(chunk: Uint8Array): void;
  /** The address of everything fed so far; the hasher cannot be used afterwards. */
  digest(): BlobHash;
}

/**
 * Creates an incremental keccak256 hasher (the contracts' `keccak256`, not NIST SHA3-256). It is
 * hash-wasm's WebAssembly Keccak, about 10× the throughput of the pure-JavaScript one in viem and
 * `@noble/hashes` (see docs/decisions/0006-blob-store.md), with identical output.
 *
 * @example
 * const hasher = await createBlobHasher();
 * for await (const chunk of stream) hasher.update(chunk);
 * const hash = hasher.digest();
 */
export async function createBlobHasher(): Promise<BlobHasher> {
  const keccak = await createKeccak(256);
  keccak.init();
  return {
    update: (chunk) => void keccak.update(chunk),
    digest: () => `0x${keccak.digest('hex')}`,
  };
}

/**
 * keccak256 of `bytes` as a blob address; equal to viem's `keccak256(bytes)`.
 *
 * @example
 * const hash = await hashBlob(new TextEncoder().encode('hello'));
 */
export async function hashBlob(bytes: Uint8Array): Promise<BlobHash> {
  const hasher = await createBlobHasher();
  hasher.update(bytes);
  return hasher.digest();
}
