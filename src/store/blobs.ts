/**
 * The content-addressed blob store: contributions, snapshots, adapters and indexes are stored as
 * immutable blobs named by the keccak256 of their bytes, on local disk by default or in an
 * S3-compatible bucket for scale. See {@link BlobStore} and docs/decisions/0006-blob-store.md.
 */
import { openDiskBlobStore } from './blob-disk.ts';
import { openS3BlobStore, type S3BlobStoreOptions } from './blob-s3.ts';
import type { BlobStore } from './blob-store.ts';

export type { BlobSource, BlobStore, PutOptions, PutResult } from './blob-store.ts';
export type { S3BlobStoreOptions } from './blob-s3.ts';
export type { BlobHash, BlobHasher } from './blob-hash.ts';
export { createBlobHasher, hashBlob, isBlobHash, toBlobHash } from './blob-hash.ts';
export { BlobCorruptError, BlobError, BlobHashMismatchError, BlobNotFoundError, BlobTooLargeError, InvalidBlobHashError } from './blob-errors.ts';
export { diskBlobPath, openDiskBlobStore } from './blob-disk.ts';
export { openS3BlobStore } from './blob-s3.ts';

/** Where blobs live: under the node's data directory (`<dataDir>/blobs`), or in an S3 bucket. */
export type BlobStoreConfig = { dataDir: string } | { s3: S3BlobStoreOptions };

/**
 * Opens the blob store the configuration names: local disk for `{ dataDir }`, S3 (or any
 * S3-compatible server) for `{ s3 }`. Both clean up after crashed writes when they open.
 *
 * @example
 * const blobs = await openBlobStore({ dataDir: config.dataDir });
 * const { hash, size } = await blobs.put(upload.stream, { maxSize: 1 << 30 });
 * for await (const chunk of await blobs.open(hash)) process(chunk); // trust it only once it ends
 * await blobs.close();
 */
export async function openBlobStore(config: BlobStoreConfig): Promise<BlobStore> {
  return 's3' in config ? openS3BlobStore(config.s3) : openDiskBlobStore({ dataDir: config.dataDir });
}
