import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, before, beforeEach, describe, test } from 'node:test';
import { hashBlob, openBlobStore, type BlobHash, type BlobStore } from './blobs.ts';
import { BlobUnavailableError, fetchBlob } from './fetch-blob.ts';

// fetchBlob against real peers (node:http on a free port) and a real disk blob store: what an
// honest peer serves is kept under its hash; whatever a hostile one does is refused with a reason
// naming it, and leaves nothing behind (no blob, no temporary file).

const BLOB = randomBytes(64 * 1024);
let hash: BlobHash;
let dir: string;
let blobs: BlobStore;
const servers: Server[] = [];

interface Peer {
  url: string;
  /** The paths it was asked for. */
  asked: string[];
  /** Resolves when its first answer's connection is over (finished, or cut by the client). */
  closed: Promise<void>;
}

/** A peer node: a real HTTP server on 127.0.0.1 answering every request with `answer`; closed after the test. */
async function peer(answer: (res: ServerResponse, req: IncomingMessage) => void): Promise<Peer> {
  const asked: string[] = [];
  let onClose!: () => void;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.once('close', onClose);
    answer(res, req);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, asked, closed };
}

/** Writes `chunk` over and over (to `total` bytes, or forever), as fast as the client reads, until the connection ends. */
function pump(res: ServerResponse, chunk: Uint8Array, total = Infinity): void {
  let sent = 0;
  const more = (): void => {
    while (!res.destroyed && sent < total) {
      sent += chunk.byteLength;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    if (!res.destroyed) res.end();
  };
  more();
}

/** Asserts that fetching from `peers` is refused with one reason per peer, each naming it and matching its pattern, and that nothing was kept. */
async function refused(peers: Peer[], reasons: RegExp[], options: Parameters<typeof fetchBlob>[3] = {}): Promise<void> {
  await assert.rejects(fetchBlob(blobs, peers.map((p) => p.url), hash, options), (err: unknown) => {
    assert.ok(err instanceof BlobUnavailableError, `not a BlobUnavailableError: ${String(err)}`);
    assert.equal(err.code, 'blob_unavailable');
    assert.ok(err.message.includes(hash), 'the error names the blob');
    const failures = err.details?.failures as string[];
    assert.equal(failures.length, peers.length);
    failures.forEach((failure, i) => {
      assert.ok(failure.startsWith(`${peers[i]!.url}: `), `names the peer: ${failure}`);
      assert.match(failure, reasons[i]!);
      assert.ok(err.message.includes(failure), 'the message carries each reason');
    });
    return true;
  });
  await assertNothingKept();
}

async function assertNothingKept(): Promise<void> {
  assert.equal(await blobs.has(hash), false, 'the blob store does not hold the hash');
  for await (const stored of blobs.list()) assert.fail(`the blob store holds ${stored}`);
  assert.deepEqual(readdirSync(join(dir, 'blobs', 'tmp')), [], 'no temporary file is left');
}

/** A URL nothing listens on: a port just freed. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Resolves to how many milliseconds `work` took. */
async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

before(async () => {
  hash = await hashBlob(BLOB);
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'openledger-fetch-blob-'));
  blobs = await openBlobStore({ dataDir: dir });
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await blobs.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('fetchBlob from a peer node', { timeout: 30_000 }, () => {
  test('a peer serving the blob: it is stored under its hash, once, asked at /blobs/:hash (a blob of exactly maxSize passes)', async () => {
    const honest = await peer((res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(BLOB));
    await fetchBlob(blobs, [`${honest.url}/`], hash, { maxSize: BLOB.byteLength, timeoutMs: 5000 });
    assert.deepEqual(honest.asked, [`/blobs/${hash}`]);
    assert.equal(await blobs.has(hash), true);
    const stored = await blobs.get(hash);
    assert.deepEqual(Buffer.from(stored), BLOB);
    assert.equal(await hashBlob(stored), hash);
    await fetchBlob(blobs, [honest.url], hash);
    assert.equal(honest.asked.length, 1, 'a blob already here is not fetched again');
  });

  test('a peer serving other bytes, or too few, is refused; the next peer is then asked', async () => {
    const liar = await peer((res) => res.writeHead(200).end(randomBytes(BLOB.byteLength)));
    const truncating = await peer((res) => {
      res.writeHead(200, { 'content-length': BLOB.byteLength }).write(BLOB.subarray(0, 1000));
      setTimeout(() => res.destroy(), 20);
    });
    const cleanShort = await peer((res) => res.writeHead(200).end(BLOB.subarray(0, BLOB.byteLength - 1)));
    await refused([liar, truncating, cleanShort], [/served bytes that do not hash to 0x[0-9a-f]{64} \(refused\)$/, /terminated/, /do not hash to/]);

    const honest = await peer((res) => res.writeHead(200).end(BLOB));
    await fetchBlob(blobs, [liar.url, honest.url], hash);
    assert.equal(honest.asked.length, 1);
    assert.deepEqual(Buffer.from(await blobs.get(hash)), BLOB);
  });

  test('a redirect is refused, not followed, even to a peer serving the right bytes', async () => {
    const target = await peer((res) => res.writeHead(200).end(BLOB));
    const redirectors: Peer[] = [];
    for (const status of [301, 302, 303, 307, 308]) redirectors.push(await peer((res, req) => res.writeHead(status, { location: `${target.url}${req.url}` }).end()));
    await refused(redirectors, redirectors.map(() => /redirect/));
    assert.deepEqual(target.asked, [], 'the redirect target was never asked');
  });

  test('an oversize answer is refused once past maxSize, with an honest Content-Length or chunked and endless, and the download is cut', async () => {
    const maxSize = 1024 * 1024;
    const chunk = randomBytes(64 * 1024);
    const declared = await peer((res) => {
      res.writeHead(200, { 'content-length': 64 * maxSize });
      pump(res, chunk, 64 * maxSize);
    });
    const endless = await peer((res) => {
      res.writeHead(200); // no length: chunked
      pump(res, chunk);
    });
    const took = await timed(() => refused([declared, endless], [/served more than 1048576 bytes \(refused\)$/, /served more than 1048576 bytes \(refused\)$/], { maxSize, timeoutMs: 5000 }));
    assert.ok(took < 4000, `refused by size, not by the time bound (${Math.round(took)} ms)`);
    await Promise.all([declared.closed, endless.closed]); // the client hung up: neither peer is still streaming
  });

  test('a stalled, dripping or silent peer is refused within the time bound', { timeout: 10_000 }, async () => {
    const stalled = await peer((res) => void res.writeHead(200, { 'content-length': BLOB.byteLength }).write(BLOB.subarray(0, 100)));
    const dripping = await peer((res) => {
      res.writeHead(200);
      const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(BLOB.subarray(0, 1))), 20);
    });
    const silent = await peer(() => {}); // accepts, never answers
    for (const p of [stalled, dripping, silent]) {
      const took = await timed(() => refused([p], [/timeout/i], { timeoutMs: 300 }));
      assert.ok(took >= 250 && took < 3000, `refused after ${Math.round(took)} ms, bound 300 ms`);
    }
  });

  test('a 404 or a 500 is refused with the peer and its status', async () => {
    const missing = await peer((res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}'));
    const broken = await peer((res) => res.writeHead(500).end('boom'));
    await refused([missing, broken], [/: 404 Not Found$/, /: 500 Internal Server Error$/]);
    assert.equal(missing.asked.length, 1);
    assert.equal(broken.asked.length, 1);
  });

  test('an unreachable peer (connection refused) is refused with the reason; no peers at all says so', async () => {
    const dead = { url: await deadUrl(), asked: [], closed: Promise.resolve() };
    await refused([dead], [/ECONNREFUSED/]);
    await assert.rejects(fetchBlob(blobs, [], hash), (err: unknown) => err instanceof BlobUnavailableError && /\(no peers\)$/.test(err.message));
    await assertNothingKept();
  });
});
