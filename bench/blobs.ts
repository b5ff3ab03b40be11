/**
 * Blob store benchmark: put/get throughput of the local-disk store (`src/store/blob-disk.ts`) for
 * 1 MB and 64 MB blobs against plain `fs.writeFile` / `fs.readFile` of the same bytes in the same
 * run (the ratio is the cost of hashing, verifying and atomic durable writes), with
 * `writeFile` + fsync as a second reference that is as durable as a put; then the throughput of
 * keccak256 alone (hash-wasm, which the store uses, and viem's, pure JavaScript from @noble/hashes) beside
 * node's sha256 and sha3-256 (OpenSSL) for context.
 *
 * Run: `npm run bench -- blobs` (options: --small=32 --large=3 --repeats=3 --hash-mb=16)
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256 } from 'viem';
import { createBlobHasher } from '../src/store/blob-hash.ts';
import { openDiskBlobStore } from '../src/store/blob-disk.ts';
import type { BlobHash } from '../src/store/blob-hash.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const smallCount = Number(arg('small', '32'));
const largeCount = Number(arg('large', '3'));
const repeats = Number(arg('repeats', '3'));
const hashMB = Number(arg('hash-mb', '16'));

const MB = 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `fn` `repeats` times, each on fresh inputs from `prepare`; median seconds. */
async function timed<T>(prepare: (rep: number) => Promise<T> | T, fn: (input: T) => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const input = await prepare(r);
    const t0 = performance.now();
    await fn(input);
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

async function* chunked(bytes: Uint8Array, size = 64 * 1024) {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += chunk.byteLength;
  return n;
}

const root = mkdtempSync(join(tmpdir(), 'openledger-bench-blobs-'));
try {
  console.log(`node ${process.version}; disk store in ${tmpdir()}; median of ${repeats} runs; 1 MB = 10^6 bytes`);
  const table: string[][] = [['blobs', 'operation', 'store MB/s', 'writeFile/readFile MB/s', 'store / baseline', 'writeFile+fsync MB/s', 'store / fsync baseline']];
  for (const [label, size, count] of [['1 MB', 1_000_000, smallCount], ['64 MB', 64_000_000, largeCount]] as const) {
    // Fresh random contents for every run, so that every put writes (a repeated put is a no-op).
    const sets = Array.from({ length: repeats }, () => Array.from({ length: count }, () => randomFillSync(new Uint8Array(size))));
    const total = size * count;
    let run = 0;
    const dir = () => join(root, `${label.replace(' ', '')}-${run++}`);

    const storeDirs: string[] = [];
    const hashes: BlobHash[][] = [];
    const putBytes = await timed(
      async (rep) => {
        const d = dir();
        storeDirs[rep] = d;
        return { store: await openDiskBlobStore({ dataDir: d }), blobs: sets[rep]! };
      },
      async ({ store, blobs }) => {
        const out: BlobHash[] = [];
        for (const b of blobs) out.push((await store.put(b)).hash);
        hashes.push(out);
      },
    );
    const putStream = await timed(
      async (rep) => ({ store: await openDiskBlobStore({ dataDir: dir() }), blobs: sets[rep]! }),
      async ({ store, blobs }) => {
        for (const b of blobs) await store.put(chunked(b));
      },
    );
    const baseDirs: string[] = [];
    const writePlain = await timed(
      async (rep) => {
        const d = dir();
        await mkdir(d, { recursive: true });
        baseDirs[rep] = d;
        return { d, blobs: sets[rep]! };
      },
      async ({ d, blobs }) => {
        for (const [i, b] of blobs.entries()) await writeFile(join(d, String(i)), b);
      },
    );
    const writeSynced = await timed(
      async (rep) => {
        const d = dir();
        await mkdir(d, { recursive: true });
        return { d, blobs: sets[rep]! };
      },
      async ({ d, blobs }) => {
        for (const [i, b] of blobs.entries()) {
          const file = await open(join(d, String(i)), 'w');
          await file.writeFile(b);
          await file.sync();
          await file.close();
        }
      },
    );
    const store = await openDiskBlobStore({ dataDir: storeDirs[0]! });
    const get = await timed(
      () => hashes[0]!,
      async (hs) => {
        for (const h of hs) await store.get(h);
      },
    );
    const openStream = await timed(
      () => hashes[0]!,
      async (hs) => {
        for (const h of hs) await drain(await store.open(h));
      },
    );
    const read = await timed(
      () => baseDirs[0]!,
      async (d) => {
        for (let i = 0; i < count; i++) await readFile(join(d, String(i)));
      },
    );
    const readStream = await timed(
      () => baseDirs[0]!,
      async (d) => {
        for (let i = 0; i < count; i++) await drain(createReadStream(join(d, String(i)), { highWaterMark: 1 << 20 }));
      },
    );
    const mbps = (seconds: number) => total / MB / seconds;
    const row = (op: string, ours: number, base: number, synced?: number) =>
      table.push([
        `${count} × ${label}`,
        op,
        mbps(ours).toFixed(0),
        mbps(base).toFixed(0),
        `${(base / ours).toFixed(2)}×`,
        synced === undefined ? '' : mbps(synced).toFixed(0),
        synced === undefined ? '' : `${(synced / ours).toFixed(2)}×`,
      ]);
    row('put (bytes) vs writeFile', putBytes, writePlain, writeSynced);
    row('put (64 KiB stream) vs writeFile', putStream, writePlain, writeSynced);
    row('get vs readFile', get, read);
    row('open (stream) vs createReadStream', openStream, readStream);
    rmSync(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) console.log(r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));

  const buffer = randomFillSync(new Uint8Array(hashMB * 1_000_000));
  const hashRate = async (fn: () => unknown) => (hashMB / (await timed(() => undefined, async () => fn())));
  const keccakWasm = await hashRate(async () => {
    const h = await createBlobHasher();
    for (let o = 0; o < buffer.byteLength; o += 1 << 20) h.update(buffer.subarray(o, o + (1 << 20)));
    h.digest();
  });
  const keccakViem = await hashRate(() => keccak256(buffer));
  const sha256 = await hashRate(() => createHash('sha256').update(buffer).digest());
  const sha3 = await hashRate(() => createHash('sha3-256').update(buffer).digest());
  console.log('');
  console.log(`hashing alone, ${hashMB} MB in memory:`);
  const hashTable = [
    ['keccak256, hash-wasm (WebAssembly; the store uses it)', keccakWasm],
    ['keccak256, viem (pure JS, @noble/hashes)', keccakViem],
    ['sha256, node:crypto (OpenSSL)', sha256],
    ['sha3-256, node:crypto (OpenSSL; Keccak with NIST padding, not keccak256)', sha3],
  ] as const;
  const w = Math.max(...hashTable.map(([n]) => n.length));
  for (const [name, rate] of hashTable) console.log(`${name.padEnd(w)}  ${rate.toFixed(0).padStart(5)} MB/s`);
  console.log(`keccak256 hash-wasm / viem: ${(keccakWasm / keccakViem).toFixed(1)}×; hash-wasm keccak256 / node sha256: ${(keccakWasm / sha256).toFixed(2)}×`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
