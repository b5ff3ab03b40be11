import { randomBytes } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCopyCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BlobCorruptError, BlobNotFoundError } from './blob-errors.ts';
import { createBlobHasher, toBlobHash, type BlobHash } from './blob-hash.ts';
import type { BlobStore } from './blob-store.ts';
import { chunksOf, createBlobMeter, createVerifier } from './blob-stream.ts';

/** Options of {@link openS3BlobStore}. */
export interface S3BlobStoreOptions {
  bucket: string;
  /** Server URL of an S3-compatible service (MinIO, Ceph, R2, …); omitted for AWS S3. */
  endpoint?: string;
  /** Default `us-east-1`. */
  region?: string;
  /** Default: the SDK's chain (environment `AWS_ACCESS_KEY_ID`…, shared profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Address buckets as `endpoint/bucket/key` rather than `bucket.endpoint/key`. Default: true when `endpoint` is set (what most S3-compatible servers need). */
  forcePathStyle?: boolean;
  /** Prepended to every key, e.g. `blobs/` to share a bucket (default: none). */
  prefix?: string;
  /** Create the bucket at open when it does not exist (default false). */
  createBucket?: boolean;
  /** Part size of streamed puts' multipart uploads, ≥ 5 MiB (default 8 MiB). A put holds about `partSize × (queueSize + 1)` in memory. */
  partSize?: number;
  /** Parts of one put uploaded concurrently (default 2). */
  queueSize?: number;
  /** At open, temporary objects and unfinished multipart uploads older than this are removed (default 24 h). */
  staleTempAfterMs?: number;
  /** Anything else for the SDK client (retries, request handler, checksum settings…); the options above win. */
  clientConfig?: S3ClientConfig;
}

const NAME = /^[0-9a-f]{64}$/;
const TEMP_NAME = /^(\d+)-[0-9a-f]+$/;
/** Largest object a single CopyObject may copy; larger ones are copied in parts. */
const MAX_SINGLE_COPY = 5 * 1024 ** 3;
const COPY_PART = 512 * 1024 ** 2;
const CONTENT_TYPE = 'application/octet-stream';

/**
 * Opens a blob store in an S3 bucket (AWS or any S3-compatible server): the object key is the
 * hash's 64 hex digits (after `prefix`), and reads are verified against it as on disk.
 *
 * A put of bytes goes straight to its address (and is skipped when the blob is there). A put of a stream is a
 * multipart upload (`@aws-sdk/lib-storage`), hashed as the parts go: its address is known only at
 * the end, so it goes to a temporary key `<prefix>tmp/<ms>-<random>` and is then copied to its
 * address inside the bucket — unless the caller gave `expectedHash`, in which case it goes straight
 * to its address and the upload is completed only if the content hashed to it. S3 shows an object
 * only once its upload is complete, so a crash leaves at most a temporary object or an unfinished
 * multipart upload, removed at a later open once stale (a bucket lifecycle rule expiring `tmp/`
 * and aborting incomplete multipart uploads after a day does the same server-side).
 *
 * @example
 * const blobs = await openS3BlobStore({ bucket: 'openledger', endpoint: 'http://127.0.0.1:9000',
 *   credentials: { accessKeyId: 'minio', secretAccessKey: 'minio123' } });
 * const { hash } = await blobs.put(request.body);
 */
export async function openS3BlobStore(options: S3BlobStoreOptions): Promise<BlobStore> {
  const client = new S3Client({
    ...options.clientConfig,
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.credentials !== undefined && { credentials: options.credentials }),
  });
  const Bucket = options.bucket;
  const prefix = options.prefix ?? '';
  const tempPrefix = `${prefix}tmp/`;
  const keyOf = (hash: BlobHash) => `${prefix}${hash.slice(2)}`;
  const copySource = (key: string) => `${Bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

  /** Size of the object at `key`, or undefined when there is none. */
  const head = async (key: string): Promise<number | undefined> => {
    try {
      return (await client.send(new HeadObjectCommand({ Bucket, Key: key }))).ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const getBody = async (hash: BlobHash): Promise<Readable> => {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(hash) }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new BlobNotFoundError(hash);
      throw err;
    }
  };

  /** Uploads a body in one PutObject when it fits in a part, as a multipart upload otherwise. */
  const upload = (key: string, Body: Uint8Array | Readable) =>
    new Upload({
      client,
      params: { Bucket, Key: key, Body, ContentType: CONTENT_TYPE },
      partSize: options.partSize ?? 8 * 1024 ** 2,
      queueSize: options.queueSize ?? 2,
    }).done();

  const remove = (key: string) => client.send(new DeleteObjectCommand({ Bucket, Key: key }));

  /** Copies an object inside the bucket, in parts when it is too large for one CopyObject. */
  const copy = async (from: string, to: string, size: number): Promise<void> => {
    const CopySource = copySource(from);
    if (size <= MAX_SINGLE_COPY) {
      await client.send(new CopyObjectCommand({ Bucket, Key: to, CopySource, ContentType: CONTENT_TYPE, MetadataDirective: 'REPLACE' }));
      return;
    }
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key: to, ContentType: CONTENT_TYPE }));
    try {
      const Parts = [];
      for (let start = 0, PartNumber = 1; start < size; start += COPY_PART, PartNumber++) {
        const end = Math.min(start + COPY_PART, size) - 1;
        const res = await client.send(new UploadPartCopyCommand({ Bucket, Key: to, UploadId, PartNumber, CopySource, CopySourceRange: `bytes=${start}-${end}` }));
        Parts.push({ PartNumber, ETag: res.CopyPartResult?.ETag });
      }
      await client.send(new CompleteMultipartUploadCommand({ Bucket, Key: to, UploadId, MultipartUpload: { Parts } }));
    } catch (err) {
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: to, UploadId })).catch(() => {});
      throw err;
    }
  };

  try {
    if (options.createBucket) await ensureBucket(client, Bucket);
    await removeCrashDebris(client, Bucket, prefix, tempPrefix, options.staleTempAfterMs ?? 24 * 3600 * 1000);
  } catch (err) {
    client.destroy();
    throw err;
  }

  return {
    kind: 's3',

    async put(source, putOptions = {}) {
      const meter = await createBlobMeter(putOptions);
      if (source instanceof Uint8Array) {
        meter.add(source);
        const { hash, size } = meter.finish();
        if ((await head(keyOf(hash))) === size) return { hash, size, created: false };
        await upload(keyOf(hash), source); // one PutObject up to partSize, parts (views, not copies) beyond
        return { hash, size, created: true };
      }

      const expected = putOptions.expectedHash === undefined ? undefined : toBlobHash(putOptions.expectedHash);
      const key = expected ? keyOf(expected) : `${tempPrefix}${Date.now()}-${randomBytes(8).toString('hex')}`;
      const existed = expected ? await head(key) : undefined;
      let result: { hash: BlobHash; size: number } | undefined;
      let failure: unknown;
      // The upload sees the end of the body only after the meter has checked the hash, so a
      // mismatch (or a source that fails) errors the body and the upload is never completed.
      const metered = async function* () {
        try {
          for await (const chunk of chunksOf(source)) {
            meter.add(chunk);
            yield chunk;
          }
          result = meter.finish();
        } catch (err) {
          failure = err;
          throw err;
        }
      };
      const body = Readable.from(metered(), { objectMode: false });
      try {
        await upload(key, body);
      } catch (err) {
        body.destroy();
        throw failure ?? err; // our own error, not the abort's that lib-storage may throw over it
      }
      if (!result) throw failure ?? new Error('upload finished before its body ended');
      if (expected) return { ...result, created: existed === undefined };

      const final = keyOf(result.hash);
      try {
        if ((await head(final)) === result.size) return { ...result, created: false };
        await copy(key, final, result.size);
        return { ...result, created: true };
      } finally {
        await remove(key).catch(() => {}); // if this fails, a later open removes it once stale
      }
    },

    async get(hash) {
      const h = toBlobHash(hash);
      const body = await getBody(h);
      const hasher = await createBlobHasher();
      const chunks: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        hasher.update(chunk);
        chunks.push(chunk);
        size += chunk.byteLength;
      }
      const actual = hasher.digest();
      if (actual !== h) throw new BlobCorruptError(h, actual, size);
      const bytes = new Uint8Array(size);
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return bytes;
    },

    async open(hash) {
      const h = toBlobHash(hash);
      const verifier = await createVerifier(h);
      const body = await getBody(h);
      pipeline(body, verifier, () => {});
      return verifier as Readable;
    },

    async has(hash) {
      return (await head(keyOf(toBlobHash(hash)))) !== undefined;
    },

    async size(hash) {
      const h = toBlobHash(hash);
      const size = await head(keyOf(h));
      if (size === undefined) throw new BlobNotFoundError(h);
      return size;
    },

    async delete(hash) {
      const key = keyOf(toBlobHash(hash));
      if ((await head(key)) === undefined) return false;
      await remove(key);
      return true;
    },

    async *list() {
      let ContinuationToken: string | undefined;
      do {
        // The delimiter folds `tmp/…` (and anything else under a slash) into one common prefix.
        const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: prefix, Delimiter: '/', ContinuationToken }));
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(prefix.length);
          if (name !== undefined && NAME.test(name)) yield `0x${name}` as BlobHash;
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    },

    async close() {
      client.destroy();
    },
  };
}

async function ensureBucket(client: S3Client, Bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await client.send(new CreateBucketCommand({ Bucket }));
  }
}

/** Deletes temporary objects and aborts multipart uploads that a crashed put left, once older than `staleMs`. */
async function removeCrashDebris(client: S3Client, Bucket: string, prefix: string, tempPrefix: string, staleMs: number): Promise<void> {
  const now = Date.now();
  let ContinuationToken: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix: tempPrefix, ContinuationToken }));
    for (const object of page.Contents ?? []) {
      const key = object.Key ?? '';
      const started = Number(TEMP_NAME.exec(key.slice(tempPrefix.length))?.[1] ?? object.LastModified?.getTime() ?? 0);
      if (now - started >= staleMs) await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    }
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);

  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: prefix, KeyMarker, UploadIdMarker }));
    } catch (err) {
      if (isNotImplemented(err)) return; // some S3-compatible servers (s3rver) cannot list uploads
      throw err;
    }
    for (const upload of page.Uploads ?? []) {
      if (now - (upload.Initiated?.getTime() ?? now) < staleMs) continue;
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    [KeyMarker, UploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
  } while (KeyMarker !== undefined);
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function isNotImplemented(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'NotImplemented' || e?.$metadata?.httpStatusCode === 501 || e?.$metadata?.httpStatusCode === 405;
}
