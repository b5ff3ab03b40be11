import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { bytesToHex, keccak256 } from 'viem';
import { altDaHttpBackend } from '../../datanet/da/alt-da-http.ts';
import { genericCommitment, keccakCommitment } from '../../datanet/da/commitment.ts';
import { DaCommitmentMismatchError, DaNotFoundError, DaServerError } from '../../datanet/da/errors.ts';
import { nodeStoreBackend } from '../../datanet/da/node-store-backend.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { openBlobStore } from '../../store/blobs.ts';
import { altDaRoutes } from './alt-da.ts';

let dataDir: string;
let blobs: BlobStore;
let app: FastifyInstance;
let url: string;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'openledger-altda-'));
  blobs = await openBlobStore({ dataDir });
  app = Fastify();
  altDaRoutes(app, { backend: nodeStoreBackend(blobs) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/altda`;
});
after(async () => {
  await app.close();
  await blobs.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const bytes = (s: string) => new TextEncoder().encode(s);

test('Alt-DA HTTP client against the node: put with a precomputed commitment (POST /put/0x…), get it back (GET /get/0x…)', async () => {
  const da = altDaHttpBackend(url);
  const data = bytes('a batch payload, put with its keccak commitment');
  const commitment = await da.put(data);
  assert.equal(commitment, keccakCommitment(data));
  assert.equal(await blobs.has(keccak256(data)), true, 'stored in the node blob store');
  assert.deepEqual(await da.get(commitment), data);
});

test('Alt-DA HTTP client against the node: POST /put answers the commitment as raw bytes, as op-alt-da does', async () => {
  const data = bytes('a batch payload, put without commitment');
  const raw = await fetch(`${url}/put`, { method: 'POST', body: data, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(raw.status, 200);
  assert.equal(bytesToHex(new Uint8Array(await raw.arrayBuffer())), keccakCommitment(data));
  const da = altDaHttpBackend(url, { precompute: false });
  const commitment = await da.put(bytes('another payload'));
  assert.equal(commitment, keccakCommitment(bytes('another payload')));
  assert.deepEqual(await da.get(commitment), bytes('another payload'));
  // OP's client posts to /put/ (trailing slash) when the server makes the commitment.
  const slash = await fetch(`${url}/put/`, { method: 'POST', body: data, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(bytesToHex(new Uint8Array(await slash.arrayBuffer())), keccakCommitment(data));
});

test('the node refuses a body that does not hash to the commitment, generic commitments and malformed ones', async () => {
  const octets = { 'content-type': 'application/octet-stream' };
  const wrong = await fetch(`${url}/put/${keccakCommitment(bytes('x'))}`, { method: 'POST', body: bytes('y'), headers: octets });
  assert.equal(wrong.status, 400);
  assert.equal(await blobs.has(keccak256(bytes('y'))), false, 'nothing stored');
  assert.equal((await fetch(`${url}/put/${genericCommitment(0, '0x00cafe')}`, { method: 'POST', body: bytes('y'), headers: octets })).status, 400);
  const json = await fetch(`${url}/put`, { method: 'POST', body: JSON.stringify({ data: 'y' }), headers: { 'content-type': 'application/json' } });
  assert.equal(json.status, 415);
  assert.deepEqual(Object.keys((await json.json()) as object), ['error', 'message']);
  assert.equal((await fetch(`${url}/get/0x02abcd`)).status, 400);
  assert.equal((await fetch(`${url}/get/${genericCommitment(0, '0x00cafe')}`)).status, 400);
  await assert.rejects(altDaHttpBackend(url).get(keccakCommitment(bytes('never put'))), DaNotFoundError);
});

test('puts only from the node itself (loopback by default, or whom mayPut allows); gets from anyone', async () => {
  const closed = Fastify();
  altDaRoutes(closed, { backend: nodeStoreBackend(blobs), mayPut: () => false, prefix: '/da' });
  await closed.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(closed.server.address() as { port: number }).port}/da`;
  try {
    await assert.rejects(altDaHttpBackend(base).put(bytes('refused')), (err: unknown) => err instanceof DaServerError && err.status === 403);
    const commitment = await altDaHttpBackend(url).put(bytes('readable from the other server'));
    assert.deepEqual(await altDaHttpBackend(base).get(commitment), bytes('readable from the other server'));
  } finally {
    await closed.close();
  }
});

test('the client refuses data that does not match the commitment (a man in the middle flips a byte)', async () => {
  const data = bytes('payload that will be tampered with in transit');
  const commitment = await altDaHttpBackend(url).put(data);
  const upstream = new URL(url);
  const mitm: Server = createServer(async (req, res) => {
    const r = await fetch(`${upstream.origin}${req.url}`);
    const body = new Uint8Array(await r.arrayBuffer());
    if (body.length > 0) body[body.length - 1]! ^= 1;
    res.writeHead(r.status, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => mitm.listen(0, '127.0.0.1', resolve));
  try {
    const tampered = altDaHttpBackend(`http://127.0.0.1:${(mitm.address() as { port: number }).port}/altda`);
    await assert.rejects(tampered.get(commitment), DaCommitmentMismatchError);
  } finally {
    await new Promise((resolve) => mitm.close(resolve));
  }
  await assert.rejects(altDaHttpBackend('http://127.0.0.1:1').get(commitment), (err: unknown) => err instanceof DaServerError && err.status === null);
});
