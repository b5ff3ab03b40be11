import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { keccak256 } from 'viem';
import { BlobCorruptError, BlobHashMismatchError, BlobNotFoundError, BlobTooLargeError, InvalidBlobHashError } from './blob-errors.ts';
import { createBlobHasher, hashBlob, type BlobHash } from './blob-hash.ts';
import type { BlobStore } from './blob-store.ts';
import type { BlobStoreConfig } from './blobs.ts';

/** One backend under test, in a fresh, empty location. */
export interface BlobStoreFixture {
  /** What `openBlobStore` opens this location with (a child process uses it to crash mid-put). */
  config: BlobStoreConfig;
  /** Opens a store on the location; every call opens a new one on the same place (a restart). */
  open(): Promise<BlobStore>;
  /** Flips the bits of one stored byte of a blob, behind the store's back. */
  corrupt(hash: BlobHash, offset: number): Promise<void>;
  /** Leaves what a put that crashed half-way leaves in this backend: a temporary file or object holding part of the content. */
  leaveCrashDebris(partial: Uint8Array): Promise<void>;
  /** The temporary files or objects there now. */
  debris(): Promise<string[]>;
  /** Whether a put killed mid-stream leaves debris to find (disk: a temporary file; S3 shows nothing before an upload completes). */
  killLeavesDebris: boolean;
  /** Most extra memory (bytes, heap + buffers) a streaming put may hold. */
  streamingBudget: number;
  /** Removes the location. */
  cleanup(): Promise<void>;
}

const MiB = 1024 ** 2;
const blobsModule = new URL('./blobs.ts', import.meta.url).href;

const bytesOf = (text: string) => new TextEncoder().encode(text);

/** Random bytes (Node's CSPRNG, fast), as a plain Uint8Array. */
function randomBytes(size: number): Uint8Array {
  return randomFillSync(new Uint8Array(size));
}

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

let gc: (() => void) | undefined;
/** The V8 collector, exposed at run time (tests run without --expose-gc). */
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

function memoryInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * The cases every blob store backend must pass, run against the fixture `make` returns (a fresh
 * location for every test).
 *
 * @example
 * blobStoreSuite('disk', async () => diskFixture());
 */
export function blobStoreSuite(name: string, make: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore (${name})`, () => {
    const opened: BlobStore[] = [];
    let fixture: BlobStoreFixture | undefined;
    const setup = async () => {
      fixture = await make();
      return { fixture, store: await open() };
    };
    const open = async () => {
      const store = await fixture!.open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
      await fixture?.cleanup();
      fixture = undefined;
    });

    it('round-trips bytes under their keccak256, readable whole, as a stream, and listed', async () => {
      const { fixture, store } = await setup();
      const content = randomBytes(300_000);
      const put = await store.put(content);
      assert.deepEqual(put, { hash: keccak256(content), size: content.byteLength, created: true });
      assert.deepEqual(await store.get(put.hash), content);
      assert.deepEqual(await readAll(await store.open(put.hash)), content);
      assert.equal(await store.has(put.hash), true);
      assert.equal(await store.size(put.hash), content.byteLength);
      assert.deepEqual(await collect(store.list()), [put.hash]);
      assert.deepEqual(await store.get(put.hash.toUpperCase().replace('0X', '0x') as BlobHash), content, 'either case of hex digits');
    });

    it('stores the empty blob and strings from a stream', async () => {
      const { fixture, store } = await setup();
      const empty = await store.put(new Uint8Array(0));
      assert.equal(empty.hash, keccak256(new Uint8Array(0)));
      assert.deepEqual(await store.get(empty.hash), new Uint8Array(0));
      assert.deepEqual(await readAll(await store.open(empty.hash)), new Uint8Array(0));
      const text = await store.put(Readable.from(['héllo ', 'wörld']));
      assert.equal(text.hash, keccak256(bytesOf('héllo wörld')));
      assert.equal(new TextDecoder().decode(await store.get(text.hash)), 'héllo wörld');
      assert.deepEqual((await collect(store.list())).sort(), [empty.hash, text.hash].sort());
    });

    it('makes putting existing content a no-op, from bytes, a stream, or two puts at once', async () => {
      const { fixture, store } = await setup();
      const content = randomBytes(100_000);
      const first = await store.put(content);
      assert.equal(first.created, true);
      assert.deepEqual(await store.put(content), { ...first, created: false });
      assert.deepEqual(await store.put(Readable.from([content.subarray(0, 10), content.subarray(10)])), { ...first, created: false });
      const other = randomBytes(50_000);
      const both = await Promise.all([store.put(Readable.from([other])), store.put(Readable.from([other]))]);
      assert.equal(both[0].hash, both[1].hash);
      assert.deepEqual((await collect(store.list())).sort(), [first.hash, both[0].hash].sort());
      assert.deepEqual(await store.get(both[0].hash), other);
      assert.deepEqual(await fixture.debris(), []);
    });

    it('streams a put of 20 MiB or more through without holding it in memory, then streams it back', async () => {
      const { fixture, store } = await setup();
      const total = Math.max(20 * MiB, 2 * fixture.streamingBudget); // so that staying within budget proves it streams
      const chunk = 64 * 1024;
      const expected = await createBlobHasher();
      collectGarbage();
      const base = memoryInUse();
      let peak = 0;
      async function* generate() {
        for (let sent = 0; sent < total; sent += chunk) {
          if (sent % (2 * MiB) === 0) {
            collectGarbage();
            peak = Math.max(peak, memoryInUse() - base);
          }
          const bytes = randomBytes(chunk);
          expected.update(bytes);
          yield bytes;
        }
      }
      const put = await store.put(generate());
      assert.deepEqual(put, { hash: expected.digest(), size: total, created: true });
      if (process.env.BLOB_TEST_VERBOSE) console.log(`${name}: streaming put of ${total / MiB} MiB: peak extra memory ${(peak / MiB).toFixed(1)} MiB`);
      assert.ok(peak < fixture.streamingBudget, `peak extra memory ${(peak / MiB).toFixed(1)} MiB ≥ budget ${(fixture.streamingBudget / MiB).toFixed(1)} MiB`);
      const back = await createBlobHasher();
      let size = 0;
      for await (const piece of await store.open(put.hash)) {
        back.update(piece);
        size += piece.byteLength;
      }
      assert.equal(size, total);
      assert.equal(back.digest(), put.hash);
      assert.equal(await store.size(put.hash), total);
    });

    it('rejects content that is not the expected hash or too large, storing nothing', async () => {
      const { fixture, store } = await setup();
      const content = randomBytes(6 * MiB + 123); // more than one S3 part
      const hash = await hashBlob(content);
      const wrong = keccak256(bytesOf('something else'));
      await assert.rejects(store.put(Readable.from([content]), { expectedHash: wrong }), BlobHashMismatchError);
      await assert.rejects(store.put(content, { expectedHash: wrong }), BlobHashMismatchError);
      await assert.rejects(store.put(Readable.from([content]), { maxSize: MiB }), BlobTooLargeError);
      await assert.rejects(store.put(content, { maxSize: content.byteLength - 1 }), BlobTooLargeError);
      assert.equal(await store.has(wrong), false);
      assert.equal(await store.has(hash), false);
      assert.deepEqual(await collect(store.list()), []);
      assert.deepEqual(await fixture.debris(), []);
      const ok = await store.put(Readable.from([content]), { expectedHash: hash.toUpperCase().replace('0X', '0x') as BlobHash, maxSize: content.byteLength });
      assert.deepEqual(ok, { hash, size: content.byteLength, created: true });
      assert.deepEqual(await store.get(ok.hash), content);
    });

    it('stores nothing when the source stream fails half-way', async () => {
      const { fixture, store } = await setup();
      async function* failing() {
        yield randomBytes(3 * MiB);
        yield randomBytes(3 * MiB);
        throw new Error('client went away');
      }
      await assert.rejects(store.put(failing()), /client went away/);
      assert.deepEqual(await collect(store.list()), []);
      assert.deepEqual(await fixture.debris(), []);
    });

    it('detects a flipped byte: get throws BlobCorruptError, open errors the stream at its end', async () => {
      const { fixture, store } = await setup();
      const content = randomBytes(6 * MiB + 5); // more than one S3 part
      const { hash } = await store.put(content);
      await fixture.corrupt(hash, 5_555_555);
      const err = await store.get(hash).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof BlobCorruptError, `expected BlobCorruptError, got ${err}`);
      assert.equal(err.hash, hash);
      assert.equal(err.size, content.byteLength);
      assert.notEqual(err.actual, hash);
      let received = 0;
      await assert.rejects(async () => {
        for await (const chunk of await store.open(hash)) received += chunk.byteLength;
      }, BlobCorruptError);
      assert.ok(received > 0 && received <= content.byteLength, 'the data flows before the verdict, which comes at the end');
      assert.equal(await store.has(hash), true, 'a corrupt blob is reported, not hidden');
      assert.equal((await store.put(content)).created, false, 'same size: put cannot tell it is damaged');
    });

    it('reports missing blobs and refuses malformed hashes', async () => {
      const { fixture, store } = await setup();
      const missing = keccak256(bytesOf('never stored'));
      await assert.rejects(store.get(missing), (e: unknown) => e instanceof BlobNotFoundError && e.hash === missing);
      await assert.rejects(store.open(missing), BlobNotFoundError);
      await assert.rejects(store.size(missing), BlobNotFoundError);
      assert.equal(await store.has(missing), false);
      assert.equal(await store.delete(missing), false);
      for (const bad of ['../../etc/passwd', '0x1234', `0x${'g'.repeat(64)}`, `${'a'.repeat(64)}`, `0x${'a'.repeat(64)}/`]) {
        await assert.rejects(store.get(bad as BlobHash), InvalidBlobHashError, bad);
        await assert.rejects(store.has(bad as BlobHash), InvalidBlobHashError, bad);
        await assert.rejects(store.put(bytesOf('x'), { expectedHash: bad as BlobHash }), InvalidBlobHashError, bad);
      }
    });

    it('deletes a blob, after which it can be put again', async () => {
      const { fixture, store } = await setup();
      const keep = await store.put(bytesOf('keep'));
      const gone = await store.put(bytesOf('delete me'));
      assert.equal(await store.delete(gone.hash), true);
      assert.equal(await store.has(gone.hash), false);
      await assert.rejects(store.get(gone.hash), BlobNotFoundError);
      assert.deepEqual(await collect(store.list()), [keep.hash]);
      assert.equal((await store.put(bytesOf('delete me'))).created, true);
      assert.equal(new TextDecoder().decode(await store.get(gone.hash)), 'delete me');
    });

    it('cleans what a crashed put left when it opens, and the blob stays absent', async () => {
      const { fixture, store } = await setup();
      const kept = await store.put(bytesOf('written before the crash'));
      const content = randomBytes(2 * MiB);
      await fixture.leaveCrashDebris(content.subarray(0, MiB));
      assert.equal((await fixture.debris()).length, 1);
      const reopened = await open();
      assert.deepEqual(await fixture.debris(), []);
      assert.equal(await reopened.has(await hashBlob(content)), false);
      assert.deepEqual(await collect(reopened.list()), [kept.hash]);
      assert.equal(new TextDecoder().decode(await reopened.get(kept.hash)), 'written before the crash');
    });

    it('survives a writer killed (SIGKILL) in the middle of a streaming put', async () => {
      const { fixture, store } = await setup();
      const kept = await store.put(bytesOf('already there'));
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { openBlobStore } = await import(process.env.BLOBS_MODULE);
           const store = await openBlobStore(JSON.parse(process.env.BLOB_CONFIG));
           setInterval(() => {}, 1000);
           async function* chunks() {
             for (let i = 0; ; i++) {
               if (i === 12) { console.log('partial'); await new Promise(() => {}); }
               yield Buffer.alloc(1 << 20, i);
             }
           }
           await store.put(chunks());`,
        ],
        { env: { ...process.env, BLOBS_MODULE: blobsModule, BLOB_CONFIG: JSON.stringify(fixture.config) }, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const said = await new Promise<string>((resolve) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', () => resolve('exited early'));
      });
      assert.equal(said, 'partial');
      child.kill('SIGKILL');
      await exited;
      if (fixture.killLeavesDebris) assert.equal((await fixture.debris()).length, 1, 'the killed put left its temporary file');
      const reopened = await open();
      assert.deepEqual(await fixture.debris(), []);
      assert.deepEqual(await collect(reopened.list()), [kept.hash]);
      assert.equal(await store.has(kept.hash), true);
    });
  });
}
