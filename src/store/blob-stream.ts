import { Transform } from 'node:stream';
import { BlobCorruptError, BlobHashMismatchError, BlobTooLargeError } from './blob-errors.ts';
import { createBlobHasher, toBlobHash, type BlobHash, type BlobHasher } from './blob-hash.ts';
import type { BlobSource, PutOptions } from './blob-store.ts';

const encoder = new TextEncoder();

/**
 * The chunks of a put's source as bytes: a `Uint8Array` source is one chunk, strings are UTF-8
 * encoded, empty chunks are skipped.
 *
 * @example
 * for await (const chunk of chunksOf(Readable.from(['a', 'b']))) write(chunk);
 */
export async function* chunksOf(source: BlobSource): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    if (source.byteLength > 0) yield source;
    return;
  }
  for await (const chunk of source) {
    const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`blob source yielded ${typeof chunk}, not bytes or a string`);
    if (bytes.byteLength > 0) yield bytes;
  }
}

/** Hashes and counts a put's content as it passes, enforcing its options. */
export interface BlobMeter {
  /** Bytes seen so far. */
  readonly size: number;
  /** Counts and hashes one chunk; throws `BlobTooLargeError` past `maxSize`. */
  add(chunk: Uint8Array): void;
  /** The content's address and size; throws `BlobHashMismatchError` if it is not `expectedHash`. */
  finish(): { hash: BlobHash; size: number };
}

/**
 * Creates the meter a put runs its content through.
 *
 * @example
 * const meter = await createBlobMeter({ maxSize: 1 << 30 });
 * for await (const chunk of chunksOf(source)) { meter.add(chunk); await write(chunk); }
 * const { hash, size } = meter.finish();
 */
export async function createBlobMeter(options: PutOptions = {}): Promise<BlobMeter> {
  const expected = options.expectedHash === undefined ? undefined : toBlobHash(options.expectedHash);
  const maxSize = options.maxSize ?? Infinity;
  const hasher = await createBlobHasher();
  let size = 0;
  return {
    get size() {
      return size;
    },
    add(chunk) {
      size += chunk.byteLength;
      if (size > maxSize) throw new BlobTooLargeError(maxSize);
      hasher.update(chunk);
    },
    finish() {
      const hash = hasher.digest();
      if (expected !== undefined && hash !== expected) throw new BlobHashMismatchError(expected, hash);
      return { hash, size };
    },
  };
}

/**
 * A pass-through stream that hashes what flows through it and, when its input ends, ends only if
 * the content hashes to `hash`; otherwise it errors with {@link BlobCorruptError} instead of
 * ending. Every chunk is passed on as it arrives, so the consumer sees the data before the
 * verdict (see `BlobStore.open`).
 *
 * @example
 * const verified = await createVerifier(hash);
 * pipeline(file, verified, () => {});
 * return verified;
 */
export async function createVerifier(hash: BlobHash): Promise<Transform> {
  const hasher: BlobHasher = await createBlobHasher();
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.byteLength;
      hasher.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hasher.digest();
      callback(actual === hash ? null : new BlobCorruptError(hash, actual, size));
    },
  });
}
