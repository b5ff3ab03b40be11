import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openS3BlobStore, type S3BlobStoreOptions } from './blob-s3.ts';
import { blobStoreSuite, type BlobStoreFixture } from './blob-store-suite.ts';
import { startTestS3Server, type TestS3Server } from './blob-test-s3.ts';

const MiB = 1024 ** 2;
let server: Promise<TestS3Server> | undefined;
const s3 = () => (server ??= startTestS3Server());
after(async () => {
  if (server) await (await server).stop();
});

/** A plain client on the test server, to look at and tamper with the bucket behind the store's back. */
function rawClient(options: S3BlobStoreOptions): S3Client {
  return new S3Client({ endpoint: options.endpoint, region: options.region, credentials: options.credentials, forcePathStyle: true });
}

async function keys(client: S3Client, Bucket: string, Prefix = ''): Promise<string[]> {
  const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

async function s3Fixture(overrides: Partial<S3BlobStoreOptions> = {}): Promise<BlobStoreFixture & { options: S3BlobStoreOptions; raw: S3Client }> {
  const options = { ...(await s3()).storeOptions(`test-${randomBytes(6).toString('hex')}`), ...overrides };
  const raw = rawClient(options);
  const prefix = options.prefix ?? '';
  const Bucket = options.bucket;
  return {
    options,
    raw,
    config: { s3: options },
    open: () => openS3BlobStore(options),
    async corrupt(hash, offset) {
      const Key = `${prefix}${hash.slice(2)}`;
      const res = await raw.send(new GetObjectCommand({ Bucket, Key }));
      const bytes = await res.Body!.transformToByteArray();
      bytes[offset] = bytes[offset]! ^ 0xff;
      await raw.send(new PutObjectCommand({ Bucket, Key, Body: bytes }));
    },
    async leaveCrashDebris(partial) {
      const twoDaysAgo = Date.now() - 2 * 24 * 3600 * 1000;
      await raw.send(new PutObjectCommand({ Bucket, Key: `${prefix}tmp/${twoDaysAgo}-0123456789abcdef`, Body: partial }));
    },
    debris: () => keys(raw, Bucket, `${prefix}tmp/`),
    killLeavesDebris: false,
    // lib-storage holds the part being filled, the part in flight (whose buffer the next part's
    // first bytes keep alive) and a copy while it concatenates; measured 14–17 MiB with 5 MiB parts.
    streamingBudget: 4 * (options.partSize ?? 8 * MiB),
    async cleanup() {
      raw.destroy();
    },
  };
}

blobStoreSuite('s3, s3rver', () => s3Fixture());

describe('S3 blob store', () => {
  it('keys objects by the 64 hex digits after the prefix, and lists only those', async () => {
    const fixture = await s3Fixture({ prefix: 'blobs/' });
    const store = await fixture.open();
    try {
      const { hash } = await store.put(new TextEncoder().encode('keyed'));
      const streamed = await store.put((async function* () { yield new TextEncoder().encode('streamed'); })());
      await fixture.raw.send(new PutObjectCommand({ Bucket: fixture.options.bucket, Key: 'README', Body: 'outside the prefix' }));
      await fixture.raw.send(new PutObjectCommand({ Bucket: fixture.options.bucket, Key: 'blobs/notes.txt', Body: 'not a blob' }));
      const live = `blobs/tmp/${Date.now()}-abcd`;
      await fixture.raw.send(new PutObjectCommand({ Bucket: fixture.options.bucket, Key: live, Body: 'a live writer' }));
      const expected = ['README', `blobs/${hash.slice(2)}`, `blobs/${streamed.hash.slice(2)}`, 'blobs/notes.txt', live];
      assert.deepEqual(await keys(fixture.raw, fixture.options.bucket), expected.sort());
      const listed = [];
      for await (const h of store.list()) listed.push(h);
      assert.deepEqual(listed.sort(), [hash, streamed.hash].sort());
      await (await fixture.open()).close();
      assert.equal((await fixture.debris()).length, 1, 'a fresh temporary object (a writer at work) is kept at open');
    } finally {
      await store.close();
      await fixture.cleanup();
    }
  });

  it('creates the bucket only when asked to', async () => {
    const fixture = await s3Fixture({ createBucket: false });
    await assert.rejects(fixture.open(), (e: Error) => e.name === 'NoSuchBucket' || /bucket/i.test(e.message));
    const store = await openS3BlobStore({ ...fixture.options, createBucket: true });
    assert.equal(store.kind, 's3');
    await store.close();
    await fixture.cleanup();
  });
});
