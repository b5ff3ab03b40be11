import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem';
import { createModelLoader, storeModelSource } from '../attribution/model-loader.ts';
import { buildApi } from '../api/server.ts';
import { createIndexer } from '../chain/indexer.ts';
import { indexedContracts } from '../chain/protocol.ts';
import { runInference } from '../inference/run-inference.ts';
import type { Backend } from '../model/backend.ts';
import { createBackend } from '../model/create-backend.ts';
import { createBuiltinEngine } from '../serve/builtin-engine.ts';
import { openBlobStore, toBlobHash, type BlobStore } from '../store/blobs.ts';
import { chainEventSink } from '../store/chain-events.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { BlobUnavailableError, fetchBlob } from '../store/fetch-blob.ts';
import { migrate } from '../store/migrate.ts';
import type { NodeContext } from '../store/node-context.ts';
import { addBaseModel } from './base-models.ts';
import { modelProjection } from './chain-projection.ts';
import { createFactoryWorker } from './factory-worker.ts';
import { createTrainingJob } from './jobs.ts';
import { mirrorModel, mirrorPublishedModels } from './mirror-model.ts';
import { getPublishedModel } from './published-models.ts';
import { SHIPPED_BASE_MODEL } from './shipped-base-model.ts';
import { BUILDER, startFactoryTestContext, type FactoryTestContext } from './test-context.ts';

// Two nodes on one chain, each with its own store and blobs: node 1 (account 0) trains and
// publishes a model; node 2 (account 8) mirrors it from node 1's public blobs by the hashes on
// chain and serves it with its own receipts. A peer that serves tampered bytes is refused.

const NODE2 = 8, NODE3 = 9;
let f: FactoryTestContext;
let app: FastifyInstance;
let api1: string;
let backend: Backend;
const cleanups: Array<() => Promise<unknown>> = [];

/** A node of its own on the same chain: its store, its blobs, its account; the shipped base model when `withBase`. */
async function otherNode(account: number, withBase: boolean): Promise<NodeContext & { blobs: BlobStore; db: Database; indexChain(): Promise<number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'openledger-peer-'));
  const db = await openDatabase({ memory: true });
  await migrate(db);
  const blobs = await openBlobStore({ dataDir: join(dir, 'blobs') });
  cleanups.push(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  if (withBase) await addBaseModel(db, SHIPPED_BASE_MODEL.name, SHIPPED_BASE_MODEL.path);
  const clients = await f.t.clients(account);
  const indexer = createIndexer({ client: clients.publicClient, chainId: clients.chain.id, contracts: indexedContracts(f.t.addresses), sink: chainEventSink(db, [modelProjection]) });
  return { db, blobs, clients, contracts: await f.t.as(account), indexChain: indexer.runOnce };
}

before(async () => {
  f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: 'facts-qa', baseModel: 'openledger-tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: '1000', hyperparameters: { sketchDimension: 256 } });
  await createFactoryWorker(f.ctx).drain();
  await f.indexChain();
  backend = createBackend({ threads: 1 });
  const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'attribution') });
  app = buildApi({ ...f.ctx, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), rpcUrl: f.t.anvil.url, embeddedChain: false, addresses: f.t.addresses, version: 'test', logLevel: 'silent', checkResponses: true });
  api1 = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  for (const c of cleanups.reverse()) await c();
  await backend?.dispose();
  await f?.stop();
});

describe('any node serves any published model', () => {
  test('a second node mirrors the model by the hashes on chain and answers with the same text and the same attribution, signed by itself', async () => {
    const node2 = await otherNode(NODE2, true);
    await node2.indexChain();
    const [mirrored, ...more] = await mirrorPublishedModels(node2, async () => [api1]);
    assert.equal(more.length, 0);
    const original = await getPublishedModel(f.db, 'facts-qa');
    assert.deepEqual({ ...mirrored, jobId: undefined }, { ...original, jobId: undefined }, 'the same model, owner and price, as the chain says');
    assert.equal(mirrored!.jobId, null, 'node 2 did not train it');
    assert.deepEqual(await mirrorPublishedModels(node2, async () => [api1]), [], 'mirrored once');

    const serve = async (ctx: NodeContext, db: Database, blobs: BlobStore, dir: string) => {
      const models = createModelLoader({ source: storeModelSource(db, blobs), backend, cacheDir: join(f.dir, dir) });
      const engine = createBuiltinEngine({ loadBase: (b) => models.base(b.id) });
      try {
        const node = { account: ctx.clients.account as LocalAccount, chainId: ctx.clients.chain.id, contracts: ctx.contracts, db, models, engine };
        return await runInference(node, { model: 'facts-qa', prompt: `### Question: ${f.facts.train[0]!.prompt}\n### Answer:`, maxTokens: 24, temperature: 0, topP: 1, seed: 0, stop: [], consumer: null });
      } finally {
        await engine.close();
      }
    };
    const one = await serve(f.ctx, f.db, f.ctx.blobs, 'serve-1');
    const two = await serve(node2, node2.db, node2.blobs, 'serve-2');
    assert.equal(two.output, one.output, 'identical greedy text');
    const body = (r: typeof one) => ({ ...r.receipt!.body, node: undefined, createdAt: undefined });
    assert.deepEqual(body(two), body(one), 'identical attribution, model, fee and parameters');
    assert.equal(one.receipt!.body.node, f.addr(0));
    assert.equal(two.receipt!.body.node, f.addr(NODE2), 'each node signs its own receipts');
  });

  test('a peer serving tampered bytes is refused with a clear error and nothing is kept; an honest peer after it is used', async () => {
    const node3 = await otherNode(NODE3, true);
    const adapter = toBlobHash((await getPublishedModel(f.db, 'facts-qa')).adapterHash);
    // another operator's node that answers every blob with other bytes
    const liar = Fastify();
    liar.get('/blobs/:hash', async (_request, reply) => reply.type('application/octet-stream').send(Buffer.from('not the adapter at all')));
    const liarUrl = await liar.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => liar.close());
    await assert.rejects(fetchBlob(node3.blobs, [liarUrl], adapter), (err: unknown) => err instanceof BlobUnavailableError && err.code === 'blob_unavailable' && /served bytes that do not hash to/.test(err.message));
    assert.equal(await node3.blobs.has(adapter), false, 'nothing of the tampered answer is kept');
    await fetchBlob(node3.blobs, [liarUrl, api1], adapter);
    assert.equal(await node3.blobs.has(adapter), true);
  });

  test('a node without the base model does not mirror it, says why, and is not held up', async () => {
    const node4 = await otherNode(NODE3, false);
    await node4.indexChain();
    const modelId = BigInt((await getPublishedModel(f.db, 'facts-qa')).modelId);
    await assert.rejects(mirrorModel(node4, modelId, [api1]), { code: 'base_model_missing' });
    const lines: string[] = [];
    assert.deepEqual(await mirrorPublishedModels(node4, async () => [api1], (l) => lines.push(l)), []);
    assert.match(lines.join('\n'), /not mirrored yet: .*base model/);
  });
});
