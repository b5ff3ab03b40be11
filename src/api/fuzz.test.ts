import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { keccak256, type Address, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createModelLoader, storeModelSource } from '../attribution/model-loader.ts';
import type { TestProtocol } from '../chain/test-chain.ts';
import { createDatanet } from '../datanet/create-datanet.ts';
import type { NodeContext } from '../store/node-context.ts';
import type { Datanet, IngestResult } from '../datanet/datanet-types.ts';
import { parseDefinition } from '../datanet/definition.ts';
import { ingestRecords } from '../datanet/ingest-records.ts';
import { createSnapshot } from '../datanet/snapshots.ts';
import { startDatanetTestContext } from '../datanet/test-context.ts';
import { createDatanetWorker } from '../datanet/worker.ts';
import { addBaseModel } from '../factory/base-models.ts';
import { cancelTrainingJob, createTrainingJob } from '../factory/jobs.ts';
import { referenceBackend } from '../model/test-models.test-util.ts';
import { writeTinyBaseModel } from '../model/tiny-base-model.test-util.ts';
import { createAdmission } from '../inference/admission.ts';
import { createApiKey } from '../inference/api-keys.ts';
import { createBuiltinEngine } from '../serve/builtin-engine.ts';
import { createEscrowMeter } from '../settlement/meter.ts';
import type { Database } from '../store/database.ts';
import { MAX_JSON_DEPTH } from './input-guard.ts';
import { bodyHashOf, SIGNATURE_HEADERS, signRequest } from './request-signature.ts';
import { CONTENT_HASH_HEADER } from './contract/datanets.ts';
import { buildApi } from './server.ts';

// An HTTP fuzzer over every route the API registers (issue 16): the routes are read from the built
// Fastify instance (printRoutes), so a route added later is fuzzed without touching this file. Each
// route gets malformed path parameters and query strings, JSON bodies of wrong types (random JSON
// and mutations of a valid body), bodies past its body limit, deeply nested JSON, bytes that are
// not UTF-8 sent as JSON, wrong content types, missing and broken signatures, valid signatures from
// accounts without the route's role, and replayed signed requests. Every answer must be a 4xx with
// a JSON `{ error, message }` (OpenAI's `{ error: { message, type } }` under /v1), or the route's
// 2xx where the random input happens to be valid: never a 5xx, a crash or a hang. Afterwards the
// node must still serve.
//
// FUZZ_RUNS multiplies the number of runs per route (default 1: about 30 s); FUZZ_SEED replays
// a run (fast-check prints the seed of a failure); API_LOG=error shows the server's log.

const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** A request that takes longer than this is a hang. */
const HANG_MS = 20_000;
const BODY_LIMIT = 1024 * 1024;

// Accounts: 0 the node (operator), 1 datanet owner, 2 curator, 3 contributor (with an API key),
// 4 model builder (owns the training job), 5 a stranger; plus fresh random keys (no role, no funds).
const NODE = 0, OWNER = 1, CURATOR = 2, CONTRIBUTOR = 3, BUILDER = 4, STRANGER = 5;

let t: TestProtocol;
let db: Database;
let ctx: NodeContext;
let app: FastifyInstance;
let chainId: number;
let stop: () => Promise<void>;
let dir: string;
let engineClose: () => Promise<void> = async () => {};
const addr = (i: number): Address => t.accounts[i]!.address;
const strangers: LocalAccount[] = Array.from({ length: 3 }, () => privateKeyToAccount(generatePrivateKey()));

/** What exists, so that fuzzed requests reach past "not found" too. */
const fx = {
  datanets: [] as Datanet[],
  accepted: [] as Hex[],
  pending: [] as Hex[],
  snapshotId: 0,
  jobId: '',
  uploadId: '',
  blobHash: '' as Hex,
  apiKeyId: '',
};

// ---------------------------------------------------------------------------------------------
// Routes, read from the instance

interface Route {
  method: string;
  /** The route's pattern, e.g. /datanets/:id/contributions. */
  url: string;
  key: string;
}

/**
 * Every method and URL pattern the instance serves, parsed from `printRoutes({ commonPrefix: false })`:
 * a tree whose lines are `<indent>├── <segment> (<METHODS>)`, each level 4 characters deeper, a
 * segment appended to its parent's path.
 */
function routesOf(instance: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const paths: string[] = [];
  for (const line of instance.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    paths.length = depth;
    const path = (depth > 0 ? paths[depth - 1]! : '') + m[2]!;
    paths[depth] = path;
    for (const method of m[3]?.split(', ') ?? []) routes.push({ method, url: path, key: `${method} ${path}` });
  }
  return routes.sort((a, b) => a.key.localeCompare(b.key));
}

const paramsOf = (route: Route) => [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
const hasBody = (route: Route) => !['GET', 'HEAD'].includes(route.method);

// ---------------------------------------------------------------------------------------------
// What each known route needs to be valid (a route not listed is fuzzed all the same, with no body)

interface RouteSpec {
  /** A valid body (a fresh one per call: names must be unique). */
  body?: () => unknown;
  /** The account whose signature passes the route's role check (default: the contributor). */
  holder?: number;
  /** Whether a valid signature from an account without the role must be a 403. */
  roleGated?: boolean;
  /** Path parameters that make the role check reachable. */
  params?: () => Record<string, string>;
}

let unique = 0;
const next = () => `${Date.now().toString(36)}-${unique++}`;
const SPECS: Record<string, RouteSpec> = {
  'POST /datanets': {
    body: () => ({
      name: `fz-${next()}`, licence: 'MIT', description: 'fuzzed', contributionStake: '0', curators: [addr(CURATOR)], curation: 'auto',
      nearDuplicateThreshold: 0.8, rules: { minChars: 1, maxChars: 1000, forbiddenPatterns: ['buy now'] }, recordSchema: { type: 'object' },
    }),
  },
  'POST /datanets/:id/contributions': { body: () => ({ records: [`a plain text record ${next()}`, { question: `q ${next()}`, answer: 'an answer' }] }) },
  'POST /datanets/:id/contributions/:contribution/decision': {
    body: () => ({ approve: false, reason: 'off topic', spam: false }), holder: CURATOR, roleGated: true,
    params: () => ({ id: String(fx.datanets[1]!.id), contribution: fx.pending[0]! }),
  },
  'POST /datanets/:id/anchor': { holder: CURATOR, roleGated: true, params: () => ({ id: String(fx.datanets[0]!.id) }) },
  'POST /datanets/:id/snapshots': { holder: OWNER, roleGated: true, params: () => ({ id: String(fx.datanets[0]!.id) }) },
  'POST /factory/base-models': { body: () => ({ name: `fz-${next()}`, path: join(dir, 'base') }), holder: NODE, roleGated: true },
  'POST /factory/jobs': { body: () => ({ modelName: `fz-${next()}`, baseModel: 'tiny', snapshotIds: [fx.snapshotId], pricePer1kTokens: '0' }), holder: BUILDER },
  'POST /factory/jobs/:id/cancel': { holder: BUILDER, roleGated: true, params: () => ({ id: fx.jobId }) },
  'POST /inference': { body: () => ({ model: 'tiny', prompt: 'Hello', maxTokens: 2, temperature: 0, topP: 1, seed: 0 }) },
  'POST /api-keys': { body: () => ({ name: 'fuzz' }) },
  'DELETE /api-keys/:id': { params: () => ({ id: fx.apiKeyId }) },
  'POST /v1/completions': { body: () => ({ model: 'tiny', prompt: 'Hello', max_tokens: 2, temperature: 0, stop: ['\n'], stream: false }) },
  'POST /v1/chat/completions': { body: () => ({ model: 'tiny', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 2, temperature: 0 }) },
  'POST /settlement/authorizations': {
    body: () => ({
      auth: { consumer: addr(CONTRIBUTOR), operator: addr(NODE), cumulativeAmount: '1', nonce: '1', expiry: '99999999999' },
      signature: `0x${'ab'.repeat(65)}`,
    }),
  },
  'POST /settlement/epochs': { holder: NODE, roleGated: true },
  'POST /chain/rpc': { body: () => ({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }) },
};
const specOf = (route: Route): RouteSpec => SPECS[`${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`] ?? {};

/** Values of a route's path parameter that exist, by the segment before it (`/uploads/:id`) or its name. */
function knownValues(route: Route, name: string): string[] {
  const segment = new RegExp(`([\\w-]+)/:${name}\\b`).exec(route.url)?.[1] ?? '';
  const ids: Record<string, string[]> = {
    datanets: fx.datanets.map((d) => String(d.id)), uploads: [fx.uploadId], jobs: [fx.jobId], contributions: [...fx.accepted, ...fx.pending],
    snapshots: [String(fx.snapshotId)], 'api-keys': [fx.apiKeyId],
  };
  if (name === 'id' && ids[segment]) return ids[segment];
  const all: Record<string, string[]> = {
    id: [...fx.datanets.map((d) => String(d.id)), String(fx.snapshotId), fx.jobId, fx.uploadId, fx.accepted[0]!, fx.apiKeyId],
    contribution: [...fx.pending, ...fx.accepted],
    address: [addr(CONTRIBUTOR), addr(NODE), addr(CONTRIBUTOR).toLowerCase()],
    name: ['tiny', 'fuzz-model'],
    file: ['adapter_config.json', 'adapter_model.safetensors'],
    hash: [fx.blobHash],
    receiptId: [`0x${'0'.repeat(64)}`],
    epoch: ['1'],
  };
  return all[name] ?? ['1'];
}

/** The route's URL with valid parameters (the spec's, or values that exist). */
function validPath(route: Route): string {
  const given = specOf(route).params?.() ?? {};
  return route.url.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(given[name] ?? knownValues(route, name)[0]!));
}

// ---------------------------------------------------------------------------------------------
// Sending, signing, checking

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  text: string;
}

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  payload?: string | Buffer;
}

/** Counts of answers, by route and status, and what the server logged for 5xx answers. */
const counts = new Map<string, Map<number, number>>();
const inputs = new Map<string, number>();
const serverErrors = new Map<string, string>();
/** The query keys each route reads, learnt while probing. */
const queryKeys = new Map<string, Set<string>>();
let discovering = false;
/** Each route's body limit, as the routes report it. */
const bodyLimits = new Map<string, number>();
const crashes: string[] = [];
const onCrash = (err: unknown) => crashes.push(String((err as Error)?.stack ?? err));

/** The URL as the server sees it (light-my-request normalises it the same way), so a signature over it holds. */
function normalise(url: string): string {
  const u = new URL(url, 'http://localhost');
  return u.pathname + u.search;
}

// A request that blocks the event loop (where no timer of this thread can fire) is caught by a
// watchdog thread: past BLOCKED_MS it prints the request and ends the process.
const BLOCKED_MS = 3 * HANG_MS;
const started = Date.now();
const watch = new Int32Array(new SharedArrayBuffer(4 * 514)); // [0]: seconds since `started` the request began (0: none), [1]: its length, then its text
const watchdog = new Worker(`
  const { workerData: { watch, started, limit } } = require('node:worker_threads');
  setInterval(() => {
    const since = Atomics.load(watch, 0);
    if (since === 0 || Date.now() - started - (since - 1) * 1000 < limit) return;
    const text = Buffer.from(watch.buffer, 8, Atomics.load(watch, 1)).toString();
    require('node:fs').writeSync(2, 'hang: the event loop has been blocked for ' + limit / 1000 + ' s by ' + text + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }, 1000);
`, { eval: true, workerData: { watch, started, limit: BLOCKED_MS } });
watchdog.unref();

function watching(req: Sent | undefined): void {
  if (!req) return void Atomics.store(watch, 0, 0);
  const text = Buffer.from(show(req).slice(0, 1000)).subarray(0, 2048);
  new Uint8Array(watch.buffer, 8).set(text);
  Atomics.store(watch, 1, text.length);
  Atomics.store(watch, 0, Math.floor((Date.now() - started) / 1000) + 1);
}

async function inject(route: Route | undefined, category: string, req: Sent): Promise<Answer> {
  inputs.set(category, (inputs.get(category) ?? 0) + 1);
  serverErrors.delete(`${req.method} ${req.url}`);
  watching(req);
  const began = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${req.method} ${req.url.slice(0, 200)} did not answer in ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    const res = await Promise.race([
      app.inject({ method: req.method as InjectOptions['method'], url: req.url, headers: req.headers, ...(req.payload === undefined ? {} : { payload: req.payload }) }),
      hang,
    ]);
    if (route) {
      const byStatus = counts.get(route.key) ?? new Map<number, number>();
      byStatus.set(res.statusCode, (byStatus.get(res.statusCode) ?? 0) + 1);
      counts.set(route.key, byStatus);
    }
    // a request that blocked the event loop for long (the timer could not fire) is a hang too
    if (Date.now() - began > HANG_MS) throw new Error(`hang: ${req.method} ${req.url.slice(0, 200)} took ${Date.now() - began} ms`);
    return { status: res.statusCode, headers: res.headers, text: res.body };
  } finally {
    clearTimeout(timer);
    watching(undefined);
  }
}

/** The `{ error, message }` of an error answer (or OpenAI's `{ error: { message, type, code } }`). */
function errorOf(a: Answer): { code: string; message: string } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    return undefined;
  }
  if (!body || typeof body !== 'object') return undefined;
  const { error, message } = body as { error?: unknown; message?: unknown };
  if (typeof error === 'string' && typeof message === 'string') return { code: error, message };
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; type?: unknown; code?: unknown };
    if (typeof e.message === 'string' && typeof e.type === 'string') return { code: typeof e.code === 'string' ? e.code : e.type, message: e.message };
  }
  return undefined;
}

const show = (req: Sent) => {
  const payload = req.payload === undefined ? '' : ` body(${req.payload.length} bytes)=${JSON.stringify(req.payload.toString().slice(0, 300))}`;
  return `${req.method} ${req.url.slice(0, 300)} headers=${JSON.stringify(req.headers).slice(0, 400)}${payload}`;
};

/** Asserts a well-formed answer: a 2xx, or a 4xx with a JSON error code and message; never a 5xx. */
function assertAnswer(req: Sent, a: Answer): void {
  const where = `${show(req)}\n  → ${a.status} ${a.text.slice(0, 500)}`;
  if (a.status >= 500) {
    const logged = serverErrors.get(`${req.method} ${req.url}`);
    assert.fail(`5xx: ${where}${logged ? `\n  server error: ${logged}` : ''}`);
  }
  assert.ok(a.status >= 200 && a.status < 300 || a.status >= 400 && a.status < 500, `unexpected status: ${where}`);
  if (req.method === 'HEAD') return;
  if (a.status >= 400) {
    assert.match(String(a.headers['content-type']), /^application\/json/, `error not JSON: ${where}`);
    const e = errorOf(a);
    assert.ok(e, `error without { error, message }: ${where}`);
    assert.match(e.code, /^[a-z][a-z0-9_]*$/, `unclear error code: ${where}`);
    assert.ok(e.message.length > 0, `empty error message: ${where}`);
  } else if (/^application\/json/.test(String(a.headers['content-type']))) {
    assert.doesNotThrow(() => JSON.parse(a.text), `2xx JSON that does not parse: ${where}`);
  }
}

type Signer = Pick<LocalAccount, 'address' | 'signTypedData'>;
const account = (who: number | Signer): Signer => (typeof who === 'number' ? t.accounts[who]! : who);

/** The signature headers of `who` for `method url` over `bodyHash`, with tampering knobs. */
async function sign(who: number | Signer, method: string, url: string, bodyHash: Hex, o: { timestamp?: number; nonce?: Hex; chainId?: number; node?: Address } = {}) {
  return signRequest(account(who), {
    chainId: o.chainId ?? chainId, node: o.node ?? t.accounts[0]!.address, method, path: url, bodyHash,
    ...(o.timestamp === undefined ? {} : { timestamp: o.timestamp }), ...(o.nonce === undefined ? {} : { nonce: o.nonce }),
  });
}

/** A request with a JSON (or raw) body, signed by `who` over exactly the bytes sent. */
async function signedRequest(who: number | Signer | null, method: string, url: string, payload?: string | Buffer, headers: Record<string, string> = {}): Promise<Sent> {
  const u = normalise(url);
  const h: Record<string, string> = { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers };
  if (who !== null) Object.assign(h, await sign(who, method, u, bodyHashOf(payload === undefined ? undefined : typeof payload === 'string' ? payload : new Uint8Array(payload))));
  return { method, url: u, headers: h, ...(payload === undefined ? {} : { payload }) };
}

/** The account whose signature passes a route's role check. */
const holderOf = (route: Route): number => specOf(route).holder ?? CONTRIBUTOR;

/** The valid request of a route: valid parameters, a valid body, signed by `who` (null: unsigned). */
async function validRequest(route: Route, who: number | Signer | null, path = validPath(route)): Promise<Sent> {
  const spec = specOf(route);
  if (isUpload(route)) return uploadRequest(who, path, { file: Buffer.from(`{"text":"an uploaded record ${next()}"}\n`), shape: 'ok', hash: 'ok', format: 'jsonl' });
  const body = hasBody(route) && spec.body ? JSON.stringify(spec.body()) : undefined;
  return signedRequest(who, route.method, path, body);
}

// ---------------------------------------------------------------------------------------------
// Uploads: multipart, signed over the file's hash

const isUpload = (route: Route) => route.method === 'POST' && route.url.endsWith('/uploads');
const BOUNDARY = '----openledger-fuzz';

interface UploadCase {
  file: Buffer;
  shape: 'ok' | 'no-file' | 'two-files' | 'field' | 'truncated' | 'wrong-boundary' | 'no-boundary' | 'not-multipart';
  hash: 'ok' | 'wrong' | 'missing' | 'garbage';
  format?: string;
  filename?: string;
  garbageHash?: string;
}

function multipartBody(c: UploadCase): Buffer {
  const filename = (c.filename ?? 'records.jsonl').replace(/["\r\n]/g, '_');
  const part = (name: string, content: Buffer, file = true) => Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${filename}"` : ''}\r\n${file ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n`),
    content, Buffer.from('\r\n'),
  ]);
  const end = Buffer.from(`--${BOUNDARY}--\r\n`);
  switch (c.shape) {
    case 'no-file': return end;
    case 'two-files': return Buffer.concat([part('file', c.file), part('file2', c.file), end]);
    case 'field': return Buffer.concat([part('note', Buffer.from('hello'), false), part('file', c.file), end]);
    case 'truncated': return part('file', c.file).subarray(0, Math.max(1, Math.floor(c.file.length / 2) + 40));
    default: return Buffer.concat([part('file', c.file), end]);
  }
}

async function uploadRequest(who: number | Signer | null, path: string, c: UploadCase): Promise<Sent> {
  // a URL carries UTF-8: a lone surrogate in a generated format cannot be sent (encodeURIComponent
  // throws on it), so it goes as U+FFFD
  const url = normalise(`${path}${c.format === undefined ? '' : `${path.includes('?') ? '&' : '?'}format=${encodeURIComponent(c.format.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'))}`}`);
  const payload = c.shape === 'not-multipart' ? c.file : multipartBody(c);
  const contentType = c.shape === 'not-multipart' ? 'application/octet-stream' : c.shape === 'no-boundary' ? 'multipart/form-data' : `multipart/form-data; boundary=${c.shape === 'wrong-boundary' ? 'other' : BOUNDARY}`;
  const declared = c.hash === 'wrong' ? keccak256(Buffer.concat([c.file, Buffer.from('x')])) : keccak256(c.file);
  const headers: Record<string, string> = { 'content-type': contentType };
  if (c.hash === 'ok' || c.hash === 'wrong') headers[CONTENT_HASH_HEADER] = declared;
  if (c.hash === 'garbage') headers[CONTENT_HASH_HEADER] = c.garbageHash ?? 'nope';
  if (who !== null) Object.assign(headers, await sign(who, 'POST', url, c.hash === 'garbage' || c.hash === 'missing' ? bodyHashOf(undefined) : declared));
  return { method: 'POST', url, headers, payload };
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const NASTY_STRINGS = [
  '', ' ', '0', '-1', '-0', '1.5', '1e3', '1e308', '-1e308', '1e-7', 'NaN', 'Infinity', '-Infinity', 'null', 'undefined', 'true', '[]', '{}',
  '2147483647', '2147483648', '4294967296', '9007199254740991', '9007199254740992', '18446744073709551616', '9'.repeat(80), '0x', '0x0',
  `0x${'f'.repeat(64)}`, `0x${'g'.repeat(64)}`, `0x${'0'.repeat(40)}`, `0x${'A'.repeat(40)}`, '00000000-0000-0000-0000-000000000000',
  '__proto__', 'constructor', 'prototype', 'toString', '..', '.', '../../etc/passwd', '\u0000', 'a\u0000b', '\ud800', '\udfff\ud800', '\uffff', '\u202e',
  '😀', 'é', 'ﷺ', '<script>alert(1)</script>', "' or 1=1 --", '%', '%%', '%00', 'a'.repeat(300), 'a'.repeat(70_000), '\r\n', '\t',
];
/** Numbers at the edges of the types they end up in (JavaScript's safe integers, PostgreSQL's integer and bigint, uint256). */
const EDGE_NUMBERS = [
  '0', '-1', '1', '2147483647', '2147483648', '-2147483649', '3000000000', '4294967296', '9007199254740991', '9007199254740992', '9223372036854775807',
  '9223372036854775808', '18446744073709551616', `${2n ** 256n}`, '1e21', '1e400', '0.5', '-0', '00001', '0x10', '1_000',
];
/** Raw (already URL-encoded, some of it invalidly) path or query text. */
const RAW_URL_BITS = ['%zz', '%', '%F', '%FF', '%C0%AE', '%ED%A0%80', '%00', '%2F', '%2e%2e', '%u0041', '..%2F..%2F', '%EF%BF%BF', '+', ';', '#', '?', '&&', '=='];

const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength: 70 }).map((h) => `0x${h}`) },
  { weight: 1, arbitrary: fc.double().map(String) },
);

/** A URL component: a string percent-encoded byte by byte (lone surrogates as U+FFFD), or raw encoded text. */
const encodeBytes = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`)).join('');
const urlComponent = (known: string[]) => fc.oneof(
  { weight: 4, arbitrary: nastyString.map(encodeBytes) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 2, arbitrary: fc.constantFrom(...known.map(encodeURIComponent)) },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_URL_BITS) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...known.map(encodeURIComponent)), fc.constantFrom(...RAW_URL_BITS, '%20', 'x', '0')).map(([a, b]) => a + b) },
);

const QUERY_KEYS = ['limit', 'before', 'q', 'owner', 'status', 'contributor', 'datanet', 'from', 'format', 'after', 'contract', 'event', '__proto__', 'constructor', 'a[b]', 'limit[]'];
/** A query string: mostly the keys the route reads (learnt while probing), with garbage values. */
const queryString = (read: string[]) => fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.tuple(
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...(read.length > 0 ? read : QUERY_KEYS)) }, { weight: 1, arbitrary: fc.constantFrom(...QUERY_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map(encodeBytes) }),
    urlComponent(['1', '50', '500', 'accepted', 'jsonl'])), { maxLength: 4 })
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&')) },
  { weight: 1, arbitrary: fc.constantFrom('limit=1&limit=2', 'limit', '=', '&&&', 'a'.repeat(50_000), 'q=' + '%'.repeat(1000), 'before=1&before=abc', 'limit=%00', 'status[]=accepted', 'owner[0x]=1') },
);

/** JSON values of every type, with the nasty strings and numbers among them. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, -0.5, 1e308, -1e308, 2 ** 31, 2 ** 53, 2 ** 64, [], {}, [[]], [null], { '': '' }) },
  { weight: 1, arbitrary: fc.constantFrom(JSON.parse('{"__proto__":{"admin":true}}'), JSON.parse('{"constructor":{"prototype":{"x":1}}}')) },
);

type PathKey = string | number;
/** The paths of every value in `v` (objects and arrays included). */
function pathsOf(v: unknown, at: PathKey[] = [], out: PathKey[][] = []): PathKey[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) pathsOf(x, [...at, k], out);
  return out;
}

interface Mutation {
  path: number;
  op: 'replace' | 'delete' | 'extra-key' | 'wrap';
  value: unknown;
  key: string;
}

/** A valid body with one to three of its values replaced, deleted, wrapped in an array, or given an unknown sibling. */
function mutate(template: unknown, mutations: Mutation[]): unknown {
  let doc = structuredClone(template);
  for (const generated of mutations) {
    const m = { ...generated, value: structuredClone(generated.value) }; // generated values may be shared constants: never alter them
    const paths = pathsOf(doc);
    const path = paths[m.path % paths.length]!;
    if (path.length === 0) {
      doc = m.op === 'wrap' ? [doc] : m.op === 'extra-key' && doc && typeof doc === 'object' && !Array.isArray(doc) ? { ...doc, [m.key]: m.value } : m.value;
      continue;
    }
    const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<PathKey, unknown>)[k], doc) as Record<PathKey, unknown>;
    const last = path.at(-1)!;
    if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
    } else if (m.op === 'wrap') parent[last] = [parent[last]];
    else if (m.op === 'extra-key' && !Array.isArray(parent)) parent[m.key] = m.value;
    else parent[last] = m.value;
  }
  return doc;
}

/** Every field name of the valid bodies (the keys random objects are made of). */
const fieldNames = () => [...new Set(Object.values(SPECS).flatMap((s) => (s.body ? pathsOf(s.body()).flat().filter((k): k is string => typeof k === 'string') : [])))];
const mutation = (): fc.Arbitrary<Mutation> => fc.record({
  path: fc.nat(),
  op: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'extra-key', 'wrap'),
  value: anyJson,
  key: fc.oneof(fc.constantFrom(...fieldNames(), '__proto__', 'constructor'), fc.string({ maxLength: 12 })),
});

/** A wrong body for a route: random JSON, an object of the API's field names with random values, or a mutated valid body. */
function wrongBody(route: Route): fc.Arbitrary<string> {
  const template = specOf(route).body;
  const arbs: fc.Arbitrary<unknown>[] = [anyJson, fc.dictionary(fc.constantFrom(...fieldNames()), anyJson, { maxKeys: 6 })];
  if (template) arbs.push(fc.array(mutation(), { minLength: 1, maxLength: 3 }).map((ms) => mutate(template(), ms)), fc.array(mutation(), { minLength: 1, maxLength: 3 }).map((ms) => mutate(template(), ms)));
  return fc.oneof(...arbs).map((v) => JSON.stringify(v) ?? 'null');
}

/** A body nested `depth` deep (arrays or objects): the whole body, or one value of a valid body (`at` picks which). */
function deepBody(route: Route, depth: number, objects: boolean, at: number | undefined): string {
  const deep = objects ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  const template = specOf(route).body?.();
  if (at === undefined || !template || typeof template !== 'object') return deep;
  const paths = pathsOf(template).length;
  const doc = mutate(template, [{ path: paths > 1 ? 1 + (at % (paths - 1)) : 0, op: 'replace', value: '__DEEP__', key: '' }]);
  return JSON.stringify(doc).replace('"__DEEP__"', deep);
}

const CONTENT_TYPES = [
  'text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data', 'multipart/form-data; boundary=x', 'application/octet-stream',
  'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/jsonx', 'application/json-patch+json', 'APPLICATION/JSON',
  'application/json;', 'application/xml', '*/*', 'json', ';;;', 'text/plain; charset=utf-8', 'application/vnd.api+json',
];

// ---------------------------------------------------------------------------------------------
// Running a property per route, collecting every finding before failing

const findings: string[] = [];
let allRoutes: Route[] = [];
/** The routes that must be signed: their valid request, sent unsigned, answers 401. */
const signedRoutes = new Set<string>();

async function forEachRoute(tc: TestContext, category: string, routes: Route[], numRuns: number, property: (route: Route) => fc.IAsyncProperty<any>): Promise<void> {
  const started = Date.now();
  let runs = 0;
  for (const route of routes) {
    const n = Math.max(1, Math.round(numRuns * RUNS));
    runs += n;
    const details = await fc.check(property(route), { numRuns: n, ...(SEED === undefined ? {} : { seed: SEED }), interruptAfterTimeLimit: 20_000 });
    if (details.failed) {
      const message = String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance).split('\n').slice(0, 12).join('\n');
      findings.push(`[${category}] ${route.key} (seed ${details.seed}, path "${details.counterexamplePath}"):\n${message}`);
    }
  }
  tc.diagnostic(`${category}: ${routes.length} routes, ${runs} runs, ${inputs.get(category) ?? 0} requests, ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const withoutHead = (routes: Route[]) => routes.filter((r) => r.method !== 'HEAD');

// ---------------------------------------------------------------------------------------------

before(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  ({ t, db, ctx, stop } = await startDatanetTestContext());
  chainId = ctx.clients.chain.id;
  dir = mkdtempSync(join(tmpdir(), 'openledger-fuzz-'));
  await writeTinyBaseModel(join(dir, 'base'));
  await addBaseModel(db, 'tiny', join(dir, 'base'));

  // Two datanets (automatic and manual curation), accepted and pending contributions, a recorded
  // snapshot, a cancelled training job, an API key and an upload.
  const define = (name: string, curation: 'auto' | 'manual') => parseDefinition({ name, licence: 'MIT', contributionStake: '0', curators: [addr(CURATOR)], curation });
  fx.datanets.push(await createDatanet(ctx, addr(OWNER), define('fuzz-auto', 'auto')), await createDatanet(ctx, addr(OWNER), define('fuzz-manual', 'manual')));
  const records = ['Rivers carry sediment from mountains down to the sea.', 'A prime number has exactly two distinct divisors.', 'Copper conducts heat and electricity very well.'];
  const ids = (rs: IngestResult[]) => rs.flatMap((r) => (r.status === 'rejected' ? [] : [r.id]));
  fx.accepted = ids((await ingestRecords(ctx, fx.datanets[0]!, addr(CONTRIBUTOR), records.map((record, index) => ({ index, record })))).results);
  const others = ['Owls hunt mostly at night and sleep by day.', 'Glaciers form where snow outlasts the summer melt.', 'Bread rises because yeast releases carbon dioxide.'];
  fx.pending = ids((await ingestRecords(ctx, fx.datanets[1]!, addr(CONTRIBUTOR), others.map((record, index) => ({ index, record })))).results);
  assert.equal(fx.accepted.length, 3, 'fixture records accepted');
  assert.equal(fx.pending.length, 3, 'fixture records pending');
  await createDatanetWorker(ctx).runOnce();
  fx.snapshotId = (await createSnapshot(ctx, fx.datanets[0]!, addr(OWNER))).snapshot.id;
  const job = await createTrainingJob(ctx, addr(BUILDER), { modelName: 'fuzz-model', baseModel: 'tiny', snapshotIds: [fx.snapshotId] });
  await cancelTrainingJob(db, job.id, addr(BUILDER)); // its event stream ends at once
  fx.jobId = job.id;
  const key = await createApiKey(db, addr(CONTRIBUTOR), 'fuzz');
  fx.apiKeyId = key.apiKey.id;

  // The API as the node builds it: models, the built-in engine, the escrow meter, admission.
  const models = createModelLoader({ source: storeModelSource(db, ctx.blobs), backend: referenceBackend(), cacheDir: join(dir, 'models') });
  const engine = createBuiltinEngine({ loadBase: (b) => models.base(b.id) });
  engineClose = () => engine.close();
  const meter = createEscrowMeter({ db, contracts: ctx.contracts, operator: ctx.clients.account.address });
  app = buildApi({
    ...ctx, models, engine, meter, funds: meter.funds, publicUrl: '', admission: createAdmission({ concurrency: 2, queue: 8 }),
    rpcUrl: t.anvil.url, embeddedChain: false, addresses: t.addresses, version: 'test', logLevel: process.env.API_LOG ?? 'silent', checkResponses: true,
  });
  // each route's body limit, for the oversized bodies
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.url) bodyLimits.set(`${request.method} ${request.routeOptions.url}`, request.routeOptions.bodyLimit);
  });
  // while probing, learn which query keys each route reads (its handler's schema reads them off request.query)
  app.addHook('preValidation', async (request) => {
    if (!discovering || !request.routeOptions.url) return;
    const key = `${request.method} ${request.routeOptions.url}`;
    const read = queryKeys.get(key) ?? new Set<string>();
    queryKeys.set(key, read);
    request.query = new Proxy(request.query as object, { get: (target, k, receiver) => (typeof k === 'string' && read.add(k), Reflect.get(target, k, receiver)) });
  });
  // the cause of a 5xx, for the finding's message (API_LOG=error prints the whole log)
  app.addHook('onError', async (request, _reply, err) => {
    if (!('status' in err) && ((err as { statusCode?: number }).statusCode ?? 500) >= 500) serverErrors.set(`${request.method} ${request.url}`, String(err.stack).split('\n').slice(0, 8).join('\n'));
  });
  await app.ready();
  allRoutes = routesOf(app);

  const upload = await inject(undefined, 'setup', await uploadRequest(CONTRIBUTOR, `/datanets/${fx.datanets[0]!.id}/uploads`, { file: Buffer.from('{"text":"an uploaded fixture record"}\n'), shape: 'ok', hash: 'ok', format: 'jsonl' }));
  assert.equal(upload.status, 201, upload.text);
  const uploaded = JSON.parse(upload.text) as { upload: { id: string; blobHash: Hex } };
  fx.uploadId = uploaded.upload.id;
  fx.blobHash = uploaded.upload.blobHash;

  discovering = true;
  for (const route of withoutHead(allRoutes)) {
    const a = await inject(undefined, 'setup', await validRequest(route, null));
    if (a.status === 401 && ['unsigned_request', 'unauthorized'].includes(errorOf(a)?.code ?? '')) signedRoutes.add(route.key);
    await inject(undefined, 'setup', await validRequest(route, holderOf(route))); // signed, so that a signed route reads its query too
  }
  discovering = false;
});

after(async () => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  await watchdog.terminate();
  await app?.close();
  await engineClose();
  await stop?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the HTTP fuzzer, over every route', () => {
  test('every route the API registers is found', (tc) => {
    assert.ok(allRoutes.length >= 90, `only ${allRoutes.length} routes found:\n${allRoutes.map((r) => r.key).join('\n')}`);
    for (const route of allRoutes) assert.ok(app.hasRoute({ method: route.method as 'GET', url: route.url }), `${route.key} parsed from printRoutes but not a route`);
    for (const key of ['GET /health', 'POST /datanets', 'POST /datanets/:id/uploads', 'POST /v1/chat/completions', 'DELETE /api-keys/:id', 'GET /factory/jobs/:id/events', 'POST /chain/rpc']) {
      assert.ok(allRoutes.some((r) => r.key === key), `${key} not found`);
    }
    tc.diagnostic(`${allRoutes.length} routes (${withoutHead(allRoutes).length} without HEAD), ${signedRoutes.size} signed: ${[...signedRoutes].join(', ')}`);
    tc.diagnostic(`query keys read: ${[...queryKeys].filter(([, k]) => k.size > 0).map(([r, k]) => `${r} (${[...k].join(', ')})`).join('; ')}`);
  });

  test('garbage path parameters', async (tc) => {
    const routes = allRoutes.filter((r) => paramsOf(r).length > 0);
    await forEachRoute(tc, 'path params', routes, 16, (route) => fc.asyncProperty(
      fc.tuple(...paramsOf(route).map((name) => urlComponent(knownValues(route, name)))),
      async (values) => {
        let i = 0;
        const path = route.url.replace(/:(\w+)/g, () => values[i++]!);
        const req = await validRequest(route, holderOf(route), path);
        assertAnswer(req, await inject(route, 'path params', req));
      },
    ));
  });

  test('garbage query strings', async (tc) => {
    await forEachRoute(tc, 'query', allRoutes, 12, (route) => fc.asyncProperty(queryString([...queryKeys.get(route.key.replace(/^HEAD /, 'GET ')) ?? []]), async (query) => {
      const req = await validRequest(route, holderOf(route), `${validPath(route)}?${query}`);
      assertAnswer(req, await inject(route, 'query', req));
    }));
  });

  test('JSON bodies of wrong types, signed by the role holder', async (tc) => {
    const routes = withoutHead(allRoutes).filter((r) => hasBody(r) && !isUpload(r));
    await forEachRoute(tc, 'wrong-type JSON', routes, 40, (route) => fc.asyncProperty(wrongBody(route), fc.boolean(), async (body, whitespace) => {
      const req = await signedRequest(holderOf(route), route.method, validPath(route), whitespace ? ` \n${body}\t` : body);
      assertAnswer(req, await inject(route, 'wrong-type JSON', req));
    }));
    // GET routes get a body too (it must be ignored or refused, not break them)
    await forEachRoute(tc, 'JSON on GET', withoutHead(allRoutes).filter((r) => !hasBody(r)), 1, (route) => fc.asyncProperty(wrongBody(route), async (body) => {
      const req = await signedRequest(CONTRIBUTOR, route.method, validPath(route), body);
      assertAnswer(req, await inject(route, 'JSON on GET', req));
    }));
  });

  test('oversized bodies and strings: past the route\'s limit (1 MiB unless it says more) a 413, under it a 400 naming the field', async (tc) => {
    await forEachRoute(tc, 'oversized', withoutHead(allRoutes), 3, (route) => fc.asyncProperty(fc.integer({ min: 1, max: 64 * 1024 }), fc.nat(5), async (extra, kind) => {
      const limit = bodyLimits.get(route.key) ?? BODY_LIMIT;
      let payload: string;
      if (kind < 2) payload = JSON.stringify({ padding: 'x'.repeat(limit + extra) }); // past the limit (refused before any signature is checked)
      else {
        // under the limit: a valid body with one field a huge string (or a huge array of them)
        const template = specOf(route).body?.() ?? { name: 'x' };
        const huge = kind === 4 ? Array.from({ length: 2000 }, () => 'y'.repeat(400)) : 'y'.repeat(BODY_LIMIT - 4096 - extra);
        payload = JSON.stringify(mutate(template, [{ path: 1 + kind, op: 'replace', value: huge, key: '' }]));
      }
      const req = await signedRequest(payload.length > limit ? null : holderOf(route), route.method, validPath(route), payload);
      const a = await inject(route, 'oversized', req);
      assertAnswer(req, a);
      if (payload.length > limit && hasBody(route)) assert.equal(a.status, 413, `${route.key} took a body past its limit (${limit} bytes): ${a.status} ${a.text.slice(0, 200)}`);
    }));
  });

  test('deeply nested JSON', async (tc) => {
    const routes = withoutHead(allRoutes).filter((r) => hasBody(r) && !isUpload(r));
    await forEachRoute(tc, 'deep JSON', routes, 6, (route) => fc.asyncProperty(fc.constantFrom(50, MAX_JSON_DEPTH + 1, 1_000, 10_000, 100_000, 200_000), fc.boolean(), fc.option(fc.nat(), { nil: undefined, freq: 4 }), async (depth, objects, at) => {
      const req = await signedRequest(holderOf(route), route.method, validPath(route), deepBody(route, depth, objects, at));
      const a = await inject(route, 'deep JSON', req);
      assertAnswer(req, a);
      if (depth > MAX_JSON_DEPTH && req.payload!.length <= (bodyLimits.get(route.key) ?? BODY_LIMIT)) assert.equal(errorOf(a)?.code, 'json_too_deep', `${route.key} took JSON nested ${depth} deep: ${a.status} ${a.text.slice(0, 200)}`);
    }));
  });

  test('bytes that are not UTF-8 (or not text) sent as JSON', async (tc) => {
    const invalid = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.constantFrom(Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('{"name":"\xc3\x28"}', 'latin1'), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), Buffer.from('{"a":1}\u0000', 'utf8')),
      // a valid body with bytes that are not UTF-8 inside one of its strings
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => b.map((x) => x | 0x80)), fc.nat()).map(([bad, at]) => Buffer.concat([Buffer.from('{"name":"fz-'), Buffer.from(bad), Buffer.from(`${at}","licence":"MIT","records":["ab`), Buffer.from(bad), Buffer.from('cd"]}')])),
    );
    await forEachRoute(tc, 'invalid UTF-8', withoutHead(allRoutes).filter(hasBody), 5, (route) => fc.asyncProperty(invalid, async (payload) => {
      const req = await signedRequest(holderOf(route), route.method, validPath(route), payload);
      assertAnswer(req, await inject(route, 'invalid UTF-8', req));
    }));
  });

  test('wrong content types', async (tc) => {
    await forEachRoute(tc, 'content type', withoutHead(allRoutes), 6, (route) => fc.asyncProperty(
      fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ maxLength: 30 }).filter((s) => !/[\r\n\0]/.test(s) && /^[\x20-\x7e]*$/.test(s))),
      fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b))),
      async (contentType, raw) => {
        const valid = await validRequest(route, null);
        const payload = raw ?? (valid.payload === undefined ? Buffer.from('{}') : Buffer.from(valid.payload));
        const req = await signedRequest(holderOf(route), route.method, valid.url, payload, { 'content-type': contentType });
        if (isUpload(route)) req.headers[CONTENT_HASH_HEADER] = keccak256(payload);
        assertAnswer(req, await inject(route, 'content type', req));
      },
    ));
  });

  test('missing, malformed, stale and forged signatures', async (tc) => {
    type Mode = 'none' | 'partial' | 'garbage' | 'stale' | 'future' | 'wrong-chain' | 'wrong-path' | 'wrong-body' | 'wrong-method' | 'impostor' | 'truncated' | 'doubled' | 'bearer';
    const modes: Mode[] = ['none', 'partial', 'garbage', 'stale', 'future', 'wrong-chain', 'wrong-path', 'wrong-body', 'wrong-method', 'impostor', 'truncated', 'doubled', 'bearer'];
    const headerName = fc.constantFrom(...Object.values(SIGNATURE_HEADERS));
    await forEachRoute(tc, 'signature', withoutHead(allRoutes), 10, (route) => fc.asyncProperty(
      fc.constantFrom(...modes), fc.dictionary(headerName, fc.oneof(nastyString, fc.constantFrom('0x', `0x${'1'.repeat(130)}`, `0x${'z'.repeat(64)}`, '999999999999', '-1')).filter((s) => !/[\r\n\0]/.test(s) && /^[\x20-\x7e]*$/.test(s)), { maxKeys: 4 }),
      fc.integer({ min: 301, max: 10 ** 9 }), headerName,
      async (mode, garbage, skew, dropped) => {
        const valid = await validRequest(route, null);
        const holder = holderOf(route);
        const bodyHash = isUpload(route) ? (valid.headers[CONTENT_HASH_HEADER] as Hex) : bodyHashOf(valid.payload === undefined ? undefined : String(valid.payload));
        const now = Math.floor(Date.now() / 1000);
        const base = Object.fromEntries(Object.entries(valid.headers).filter(([k]) => !(Object.values(SIGNATURE_HEADERS) as string[]).includes(k)));
        let sig: Record<string, string | string[]> = {};
        switch (mode) {
          case 'none': break;
          case 'partial': sig = await sign(holder, route.method, valid.url, bodyHash); delete sig[dropped]; break;
          case 'garbage': sig = { ...(await sign(holder, route.method, valid.url, bodyHash)), ...garbage }; if (Object.keys(garbage).length === 0) sig[SIGNATURE_HEADERS.signature] = '0xdeadbeef'; break;
          case 'stale': sig = await sign(holder, route.method, valid.url, bodyHash, { timestamp: now - skew }); break;
          case 'future': sig = await sign(holder, route.method, valid.url, bodyHash, { timestamp: now + skew }); break;
          case 'wrong-chain': sig = await sign(holder, route.method, valid.url, bodyHash, { chainId: chainId + 1 }); break;
          case 'wrong-path': sig = await sign(holder, route.method, `${valid.url}${valid.url.includes('?') ? '&' : '?'}x=1`, bodyHash); break;
          case 'wrong-body': sig = await sign(holder, route.method, valid.url, keccak256(new TextEncoder().encode('another body'))); break;
          case 'wrong-method': sig = await sign(holder, route.method === 'POST' ? 'PUT' : 'POST', valid.url, bodyHash); break;
          case 'impostor': sig = { ...(await sign(STRANGER, route.method, valid.url, bodyHash)), [SIGNATURE_HEADERS.address]: addr(holder) }; break;
          case 'truncated': sig = await sign(holder, route.method, valid.url, bodyHash); sig[SIGNATURE_HEADERS.signature] = (sig[SIGNATURE_HEADERS.signature] as string).slice(0, 100); break;
          case 'doubled': { const a = await sign(holder, route.method, valid.url, bodyHash); const b = await sign(STRANGER, route.method, valid.url, bodyHash); sig = Object.fromEntries(Object.keys(a).map((k) => [k, [b[k]!, a[k]!]])); break; }
          case 'bearer': sig = { authorization: `Bearer ${garbage[SIGNATURE_HEADERS.signature] ?? 'olk_0123456789abcdef_' + 'x'.repeat(43)}` }; break;
        }
        const req: Sent = { ...valid, headers: { ...base, ...sig } };
        const a = await inject(route, 'signature', req);
        assertAnswer(req, a);
        if (signedRoutes.has(route.key)) assert.equal(a.status, 401, `${route.key} accepted a ${mode} signature: ${a.status} ${a.text.slice(0, 300)}`);
      },
    ));
  });

  test('a valid signature from an account without the role', async (tc) => {
    const who = fc.oneof(fc.constant<number | Signer>(STRANGER), fc.constantFrom<number | Signer>(...strangers), fc.constantFrom<number | Signer>(CONTRIBUTOR, OWNER, CURATOR, BUILDER, NODE));
    await forEachRoute(tc, 'wrong role', withoutHead(allRoutes), 4, (route) => fc.asyncProperty(who, async (signer) => {
      const spec = specOf(route);
      const holder = spec.holder ?? CONTRIBUTOR;
      // for a gated route, only accounts that hold none of its roles (the owner may curate, the operator is only the operator)
      const lacks = spec.roleGated ? (typeof signer !== 'number' || ![holder, ...(holder === CURATOR ? [OWNER] : holder === OWNER ? [CURATOR] : [])].includes(signer)) : true;
      const req = await validRequest(route, signer);
      const a = await inject(route, 'wrong role', req);
      assertAnswer(req, a);
      if (spec.roleGated && lacks) {
        assert.equal(a.status, 403, `${route.key} served an account without the role: ${a.status} ${a.text.slice(0, 300)}`);
        assert.equal(errorOf(a)?.code, 'forbidden');
      }
    }));
  });

  test('a replayed signed request (the same nonce twice) is refused', async (tc) => {
    await forEachRoute(tc, 'replay', withoutHead(allRoutes), 3, (route) => fc.asyncProperty(fc.boolean(), fc.constantFrom<number | Signer>(CONTRIBUTOR, STRANGER, ...strangers), async (sameRequest, stranger) => {
      const spec = specOf(route);
      const req = await validRequest(route, spec.roleGated ? holderOf(route) : stranger);
      const first = await inject(route, 'replay', req);
      assertAnswer(req, first);
      // the same request again, or another request signed with the same nonce and timestamp
      let again = req;
      if (!sameRequest) {
        const fresh = await validRequest(route, null);
        const nonce = req.headers[SIGNATURE_HEADERS.nonce] as Hex;
        const timestamp = Number(req.headers[SIGNATURE_HEADERS.timestamp]);
        const bodyHash = isUpload(route) ? (fresh.headers[CONTENT_HASH_HEADER] as Hex) : bodyHashOf(fresh.payload === undefined ? undefined : String(fresh.payload));
        again = { ...fresh, headers: { ...fresh.headers, ...(await sign(spec.roleGated ? holderOf(route) : stranger, route.method, fresh.url, bodyHash, { nonce, timestamp })) } };
      }
      const second = await inject(route, 'replay', again);
      assertAnswer(again, second);
      // once a signature was accepted (the request served, or refused for the signer's role), its nonce is spent
      if (signedRoutes.has(route.key) && (first.status < 300 || first.status === 403)) {
        assert.equal(second.status, 401, `${route.key} served a replay: ${second.status} ${second.text.slice(0, 300)}`);
        assert.equal(errorOf(second)?.code, 'replayed_request');
      }
    }));
  });

  test('uploads: malformed multipart, wrong or missing content hashes, random files', async (tc) => {
    const file = fc.oneof(
      fc.array(anyJson, { maxLength: 20 }).map((lines) => Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n'))),
      fc.array(fc.array(nastyString, { maxLength: 5 }), { maxLength: 10 }).map((rows) => Buffer.from(rows.map((r) => r.join(',')).join('\n'))),
      fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
      fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.concat([Buffer.from('PAR1'), Buffer.from(b), Buffer.from('PAR1')])),
      fc.constantFrom(Buffer.alloc(0), Buffer.from('{"text":"a\\u0000b"}\n'), Buffer.from(`${'['.repeat(50_000)}${']'.repeat(50_000)}\n`), Buffer.from(`{"a":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_001)}\n`), Buffer.from('a,b\n"unterminated\n')),
    );
    const uploadCase: fc.Arbitrary<UploadCase> = fc.record({
      file,
      shape: fc.constantFrom('ok', 'ok', 'ok', 'no-file', 'two-files', 'field', 'truncated', 'wrong-boundary', 'no-boundary', 'not-multipart'),
      hash: fc.constantFrom('ok', 'ok', 'ok', 'wrong', 'missing', 'garbage'),
      format: fc.option(fc.oneof(fc.constantFrom('jsonl', 'csv', 'tsv', 'text', 'parquet'), nastyString), { nil: undefined }),
      filename: fc.option(fc.oneof(nastyString, fc.constantFrom('../../etc/passwd', 'a.parquet', 'x.csv', 'y.tsv', 'z.txt')), { nil: undefined }),
      garbageHash: fc.option(nastyString.filter((s) => /^[\x20-\x7e]*$/.test(s)), { nil: undefined }),
    }, { requiredKeys: ['file', 'shape', 'hash'] });
    const who = fc.constantFrom<number | Signer>(CONTRIBUTOR, STRANGER, ...strangers);
    await forEachRoute(tc, 'uploads', allRoutes.filter(isUpload), 60, (route) => fc.asyncProperty(uploadCase, who, async (c, signer) => {
      const req = await uploadRequest(signer, validPath(route), c);
      const a = await inject(route, 'uploads', req);
      assertAnswer(req, a);
    }));
  });

  test('wrong methods on every path', async (tc) => {
    const paths = [...new Set(allRoutes.map((r) => r.url))];
    const routes = paths.map((url) => ({ method: 'ANY', url, key: `ANY ${url}` }));
    await forEachRoute(tc, 'methods', routes, 2, (route) => fc.asyncProperty(fc.constantFrom('PUT', 'PATCH', 'DELETE', 'OPTIONS', 'POST', 'GET', 'TRACE'), async (method) => {
      const req = await signedRequest(CONTRIBUTOR, method, validPath({ ...route, method: 'GET' }), method === 'GET' || method === 'TRACE' ? undefined : '{}');
      assertAnswer(req, await inject(route, 'methods', req));
    }));
  });

  test('no 5xx, no crash, no hang', (tc) => {
    for (const [key, byStatus] of counts) tc.diagnostic(`${key}: ${[...byStatus].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
    tc.diagnostic(`requests per category: ${[...inputs].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    assert.deepEqual(crashes, [], 'uncaught exceptions or unhandled rejections');
    assert.equal(findings.length, 0, `${findings.length} finding(s):\n\n${findings.join('\n\n')}`);
  });
});

describe('after the fuzzing, the node is healthy', () => {
  test('GET /health, reads and a signed write still work', async () => {
    const health = await inject(undefined, 'health', { method: 'GET', url: '/health', headers: {} });
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.text), { ok: true });
    const datanet = await inject(undefined, 'health', { method: 'GET', url: `/datanets/${fx.datanets[0]!.id}`, headers: {} });
    assert.equal(datanet.status, 200, datanet.text);
    const contribute = await inject(undefined, 'health', await signedRequest(CONTRIBUTOR, 'POST', `/datanets/${fx.datanets[0]!.id}/contributions`, JSON.stringify({ records: [`after the fuzzing, a record ${next()}`] })));
    assert.equal(contribute.status, 200, contribute.text);
    assert.equal((JSON.parse(contribute.text) as { accepted: number }).accepted, 1);
    const created = await inject(undefined, 'health', await signedRequest(CONTRIBUTOR, 'POST', '/api-keys', JSON.stringify({ name: 'after the fuzzing' })));
    assert.equal(created.status, 201, created.text);
    const { key } = JSON.parse(created.text) as { key: string };
    const models = await inject(undefined, 'health', { method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${key}` } });
    assert.equal(models.status, 200, models.text);
    const completion = await inject(undefined, 'health', await signedRequest(null, 'POST', '/v1/completions', JSON.stringify({ model: 'tiny', prompt: 'Hello', max_tokens: 2, temperature: 0 }), { authorization: `Bearer ${key}` }));
    assert.equal(completion.status, 200, completion.text);
  });

  test('over a real socket: an oversized chunked body, a broken request and a half-sent body leave it serving', async () => {
    const url = new URL(await app.listen({ port: 0, host: '127.0.0.1' }));
    const raw = (data: string | Buffer, end = true) => new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(data);
        if (end) socket.end();
        else setTimeout(() => socket.destroy(), 100);
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text)); // the server may reset a connection it refused: what it answered is in `text`
      socket.setTimeout(HANG_MS, () => reject(new Error('socket hang')));
    });
    // chunked, no content-length, past the limit: refused as it streams in
    const chunk = Buffer.alloc(256 * 1024, 'a');
    const chunked = Buffer.concat([Buffer.from(`POST /chain/rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`),
      ...Array.from({ length: 6 }, () => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])), Buffer.from('0\r\n\r\n')]);
    assert.match(await raw(chunked), /^HTTP\/1\.1 413 /);
    assert.match(await raw('GARBAGE / HTTP/9.9\r\n\r\n'), /^HTTP\/1\.1 400 /);
    assert.match(await raw(`GET /health HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'h'.repeat(64 * 1024)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    await raw('POST /datanets HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":', false);
    const res = await fetch(new URL('/health', url));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
  });
});
