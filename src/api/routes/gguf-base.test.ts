/**
 * A quantised GGUF file as a base model, end to end through the HTTP API: the operator adds the
 * shipped base model exported as Q8_0 (`POST /factory/base-models`, signed; refused from another
 * account), a builder fine-tunes a LoRA adapter on it (`POST /factory/jobs`: QLoRA-style, the base
 * kept as blocks), and the official openai client gets answers from the published model (the
 * quantised base plus the adapter), with a receipt.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { createModelLoader, storeModelSource } from '../../attribution/model-loader.ts';
import { createFactoryWorker } from '../../factory/factory-worker.ts';
import { SHIPPED_BASE_MODEL } from '../../factory/shipped-base-model.ts';
import { BUILDER, learntQuestion, startFactoryTestContext, type FactoryTestContext } from '../../factory/test-context.ts';
import { createAdmission } from '../../inference/admission.ts';
import { createApiKey } from '../../inference/api-keys.ts';
import type { Backend } from '../../model/backend.ts';
import { createBackend } from '../../model/create-backend.ts';
import { exportBaseGguf } from '../../model/export-gguf.ts';
import { readModelDir } from '../../model/model-dir.ts';
import { createBuiltinEngine } from '../../serve/builtin-engine.ts';
import { ApiError, createApiClient } from '../contract/client.ts';
import { routes } from '../contract/index.ts';
import { buildApi } from '../server.ts';

let f: FactoryTestContext;
let app: FastifyInstance;
let backend: Backend;
let api: string;

before(async () => {
  f = await startFactoryTestContext();
  backend = createBackend({ threads: 1 });
  const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'attribution') });
  app = buildApi({ ...f.ctx, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), admission: createAdmission({ concurrency: 1, queue: 4, retryAfterSeconds: 2 }), rpcUrl: f.t.anvil.url, embeddedChain: false, addresses: f.t.addresses, version: 'test', logLevel: process.env.API_LOG ?? 'silent', checkResponses: true });
  api = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  await backend?.dispose();
  await f?.stop();
});

test('a Q8_0 GGUF base: added by the operator, fine-tuned by a builder, served to the openai client', { timeout: 300_000 }, async () => {
  const shipped = await readModelDir(SHIPPED_BASE_MODEL.path);
  const path = join(f.dir, 'openledger-tiny.Q8_0.gguf');
  await exportBaseGguf({ config: shipped.config, tensors: shipped.tensors, tokenizerJson: shipped.tokenizer.toJson(), path, dtype: 'Q8_0' });

  const operator = createApiClient({ baseUrl: api, signer: f.t.accounts[0]! });
  const builder = createApiClient({ baseUrl: api, signer: f.t.accounts[BUILDER]! });
  await assert.rejects(builder.call(routes.addBaseModel, { body: { name: 'tiny-q8', path } }), (e: unknown) => e instanceof ApiError && e.status === 403);
  const base = await operator.call(routes.addBaseModel, { body: { name: 'tiny-q8', path } });
  assert.deepEqual([base.config.hiddenSize, base.config.numLayers], [shipped.config.hiddenSize, shipped.config.numLayers]);

  const job = await builder.call(routes.createTrainingJob, { body: { modelName: 'facts-q8', baseModel: 'tiny-q8', snapshotIds: [f.snapshot.id], pricePer1kTokens: '1000', hyperparameters: { sketchDimension: 256 } } });
  await createFactoryWorker(f.ctx).drain();
  const done = await builder.call(routes.getTrainingJob, { params: { id: job.id } });
  assert.equal(done.status, 'succeeded', done.error ?? '');
  assert.ok(done.evaluation!.tuned.loss < done.evaluation!.base.loss, `held-out loss: base ${done.evaluation!.base.loss}, tuned ${done.evaluation!.tuned.loss}`);

  const { key } = await createApiKey(f.db, f.addr(7), 'test');
  const client = new OpenAI({ apiKey: key, baseURL: `${api}/v1`, maxRetries: 0 });
  const answer = async (prompt: string) => (await client.completions.create({ model: 'facts-q8', prompt, max_tokens: 24, temperature: 0 })).choices[0]!.text;
  const { prompt } = await learntQuestion(f, answer);
  const completion = await client.completions.create({ model: 'facts-q8', prompt, max_tokens: 8, temperature: 0 });
  assert.ok((completion as unknown as { openledger: { receipt_id: string } }).openledger.receipt_id, 'the answer has a receipt');
});
