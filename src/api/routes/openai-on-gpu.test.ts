/**
 * Serving on the WebGPU backend through the whole API path: a ModelFactory job's adapter served by
 * the built-in engine on the GPU (weights, KV cache and adapters on the device, tokens sampled
 * there), asked through the official `openai` client, answers what the same node on the CPU
 * backend answers — greedy and seeded sampling, plain and streamed — with its receipt and
 * attribution (computed on the GPU too). Skipped, saying why, where no WebGPU adapter exists (CI
 * runs it on lavapipe).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { getReceipt } from '../../attribution/receipts.ts';
import { createModelLoader, storeModelSource } from '../../attribution/model-loader.ts';
import { createFactoryWorker } from '../../factory/factory-worker.ts';
import { createTrainingJob } from '../../factory/jobs.ts';
import { BUILDER, startFactoryTestContext, type FactoryTestContext } from '../../factory/test-context.ts';
import type { Backend } from '../../model/backend.ts';
import { createBackend } from '../../model/create-backend.ts';
import { gpuBackendOrReason } from '../../model/webgpu/test-gpu.test-util.ts';
import { createAdmission } from '../../inference/admission.ts';
import { createApiKey } from '../../inference/api-keys.ts';
import { createBuiltinEngine } from '../../serve/builtin-engine.ts';
import { buildApi } from '../server.ts';

const gpu = await gpuBackendOrReason();
const skip = typeof gpu === 'string' ? gpu : false;

const CONSUMER = 7;
let f: FactoryTestContext;
const apps: FastifyInstance[] = [];
let cpu: Backend;
const clients: { gpu?: OpenAI; cpu?: OpenAI } = {};

/** A node's API over `backend`, and an openai client for it. */
async function serveOn(backend: Backend, key: string): Promise<OpenAI> {
  const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, `attribution-${backend.name}`) });
  const app = buildApi({
    ...f.ctx, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), admission: createAdmission({ concurrency: 4, queue: 4, retryAfterSeconds: 2 }),
    rpcUrl: f.t.anvil.url, embeddedChain: false, addresses: f.t.addresses, version: 'test', logLevel: 'silent', checkResponses: true,
  });
  apps.push(app);
  return new OpenAI({ apiKey: key, baseURL: `${await app.listen({ port: 0, host: '127.0.0.1' })}/v1`, maxRetries: 0 });
}

before(async () => {
  if (skip) return;
  f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), {
    modelName: 'facts-qa', baseModel: 'openledger-tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: '1000',
    hyperparameters: { sketchDimension: 256 },
  });
  await createFactoryWorker(f.ctx).drain();
  const { key } = await createApiKey(f.db, f.addr(CONSUMER), 'test');
  cpu = createBackend({ threads: 1 });
  clients.cpu = await serveOn(cpu, key);
  clients.gpu = await serveOn(gpu as Backend, key);
});

after(async () => {
  for (const app of apps) await app.close();
  await cpu?.dispose();
  if (typeof gpu !== 'string') await gpu.dispose();
  await f?.stop();
});

test('the GPU-served adapter answers as the CPU-served one, greedy and seeded, plain and streamed, with a receipt', { skip }, async () => {
  const prompt = `### Question: ${f.facts.train[0]!.prompt}\n### Answer:`;
  const ask = (c: OpenAI, o: { temperature: number; seed?: number; model?: string }) => c.completions.create({ model: o.model ?? 'facts-qa', prompt, max_tokens: 12, temperature: o.temperature, ...(o.seed === undefined ? {} : { seed: o.seed, top_p: 0.9 }) });
  for (const o of [{ temperature: 0 }, { temperature: 0.8, seed: 11 }, { temperature: 0, model: 'tiny' }]) {
    const [onGpu, onCpu] = [await ask(clients.gpu!, o), await ask(clients.cpu!, o)];
    assert.equal(onGpu.choices[0]!.text, onCpu.choices[0]!.text, `${JSON.stringify(o)}: GPU "${onGpu.choices[0]!.text}" vs CPU "${onCpu.choices[0]!.text}"`);
    assert.deepEqual(onGpu.usage, onCpu.usage);
  }
  const receiptOf = (r: OpenAI.Completion) => getReceipt(f.db, (r as unknown as { openledger: { receipt_id: string } }).openledger.receipt_id);
  const greedy = await ask(clients.gpu!, { temperature: 0 });
  const [onGpu, onCpu] = [await receiptOf(greedy), await receiptOf(await ask(clients.cpu!, { temperature: 0 }))];
  assert.equal(onGpu.output, greedy.choices[0]!.text);
  // attribution ran on each backend: the same contributions, shares equal up to f32 rounding (a few ppm at most)
  assert.ok(onGpu.body.contributions.length > 0);
  assert.deepEqual(onGpu.body.contributions.map((c) => c.contributionId), onCpu.body.contributions.map((c) => c.contributionId));
  onGpu.body.contributions.forEach((c, i) => assert.ok(Math.abs(c.sharePpm - onCpu.body.contributions[i]!.sharePpm) <= 10, `share ${c.sharePpm} vs ${onCpu.body.contributions[i]!.sharePpm}`));

  const stream = await clients.gpu!.completions.create({ model: 'facts-qa', prompt, max_tokens: 12, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
  assert.equal(text, greedy.choices[0]!.text);
});
