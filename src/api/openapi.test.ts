import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { createModelLoader, storeModelSource } from '../attribution/model-loader.ts';
import type { TestProtocol } from '../chain/test-chain.ts';
import { startDatanetTestContext } from '../datanet/test-context.ts';
import { referenceBackend } from '../model/test-models.test-util.ts';
import { createBuiltinEngine } from '../serve/builtin-engine.ts';
import { ApiError, createApiClient } from './contract/client.ts';
import { routes } from './contract/index.ts';
import { defineRoute, type RouteDefinition } from './contract/route.ts';
import { checkResponses } from './serve-route.ts';
import { buildApi } from './server.ts';

// The API's contract against the real server: the OpenAPI document it serves validates and names
// every route; the typed client (the one the CLI and the web app use) signs, calls and reads
// answers through it; answers outside their schema are caught.

let t: TestProtocol;
let app: FastifyInstance;
let api: string;
let stop: () => Promise<void>;

before(async () => {
  const c = await startDatanetTestContext();
  ({ t, stop } = c);
  const models = createModelLoader({ source: storeModelSource(c.db, c.ctx.blobs), backend: referenceBackend(), cacheDir: join(tmpdir(), 'openledger-openapi-models') });
  app = buildApi({ ...c.ctx, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), rpcUrl: t.anvil.url, embeddedChain: false, addresses: t.addresses, version: 'test', logLevel: 'silent', checkResponses: true });
  api = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  await stop?.();
});

test('the contract names each route once, by its operationId', () => {
  const seen = new Set<string>();
  for (const [key, route] of Object.entries(routes) as Array<[string, RouteDefinition]>) {
    assert.equal(route.id, key, `routes.${key} is defined as ${route.id}`);
    const where = `${route.method} ${route.path}`;
    assert.ok(!seen.has(where), `${where} is defined twice`);
    seen.add(where);
    assert.ok(route.response || route.produces, `${route.id} says what it answers`);
  }
});

test('GET /openapi.json is a valid OpenAPI 3.1 document of every route, and the server has every route it names', async () => {
  const res = await fetch(`${api}/openapi.json`);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { openapi: string; info: { version: string }; paths: Record<string, Record<string, { operationId: string; security?: unknown[]; requestBody?: unknown }>> };
  const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(doc.info.version, 'test');
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));
  assert.equal(operations.length, Object.keys(routes).length);
  for (const route of Object.values(routes) as RouteDefinition[]) {
    const op = doc.paths[route.path.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
    assert.equal(op?.operationId, route.id);
    assert.equal(op.security !== undefined, route.auth !== 'none', `${route.id}: security`);
    assert.equal(op.requestBody !== undefined, route.body !== undefined || route.multipart !== undefined, `${route.id}: request body`);
    assert.ok(app.hasRoute({ method: route.method, url: route.path }), `the server has no ${route.method} ${route.path}`);
  }
});

test('the typed client signs, calls and reads answers through the contract', async () => {
  const owner = t.accounts[1]!;
  const client = createApiClient({ baseUrl: api, signer: owner });
  const created = await client.call(routes.createDatanet, { body: { name: 'contract-qa', licence: 'CC-BY-4.0' } });
  assert.equal(created.owner, owner.address);
  assert.equal(created.name, 'contract-qa');
  const again = await client.call(routes.getDatanet, { params: { id: created.id! } });
  assert.deepEqual(again, created);
  const { datanets } = await client.call(routes.listDatanets, { query: { owner: owner.address.toLowerCase(), limit: 5 } });
  assert.deepEqual(datanets.map((d) => d.id), [created.id]);
  const { contributions, next } = await client.call(routes.listDatanetContributions, { params: { id: created.id! }, query: { status: 'accepted' } });
  assert.deepEqual([contributions, next], [[], null]);

  // an error answer is an ApiError with the node's code; an unsigned call to a signed route is refused
  await assert.rejects(client.call(routes.getDatanet, { params: { id: 999_999 } }), (err: unknown) => err instanceof ApiError && err.status === 404 && err.code === 'not_found');
  await assert.rejects(client.call(routes.createDatanet, { body: { name: 'unsigned', licence: 'x' } }, { signer: null }), (err: unknown) => err instanceof ApiError && err.status === 401);
  // nobody listening: an ApiError saying so, not a TypeError
  await assert.rejects(createApiClient({ baseUrl: 'http://127.0.0.1:1' }).call(routes.health, {}), (err: unknown) => err instanceof ApiError && err.code === 'unreachable');
});

test('an answer outside its route\'s schema is a 500 response_contract naming the field, and the client refuses it too', async () => {
  const route = defineRoute({ id: 'scratch', method: 'GET', path: '/scratch/:n', tag: 'test', summary: 'scratch', auth: 'none', params: z.object({ n: z.coerce.number().int() }), response: z.object({ count: z.number().int() }) });
  const scratch = Fastify();
  checkResponses(scratch, [route]);
  scratch.get('/scratch/:n', async (request) => ((request.params as { n: string }).n === '1' ? { count: 1 } : { count: 'many' }));
  const url = await scratch.listen({ port: 0, host: '127.0.0.1' });
  try {
    assert.deepEqual(await (await fetch(`${url}/scratch/1`)).json(), { count: 1 });
    const bad = await fetch(`${url}/scratch/2`);
    assert.equal(bad.status, 500);
    const body = (await bad.json()) as { error: string; message: string };
    assert.equal(body.error, 'response_contract');
    assert.match(body.message, /count/);
    // a server without the check: the typed client still reads the answer through the schema
    const lax = Fastify();
    lax.get('/scratch/:n', async () => ({ count: 'many' }));
    const laxUrl = await lax.listen({ port: 0, host: '127.0.0.1' });
    await assert.rejects(createApiClient({ baseUrl: laxUrl }).call(route, { params: { n: 2 } }), z.ZodError);
    await lax.close();
  } finally {
    await scratch.close();
  }
});
