import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { createModelLoader, storeModelSource } from '../../attribution/model-loader.ts';
import { createBuiltinEngine } from '../../serve/builtin-engine.ts';
import { getReceipt } from '../../attribution/receipts.ts';
import { createFactoryWorker } from '../../factory/factory-worker.ts';
import { createTrainingJob } from '../../factory/jobs.ts';
import { BUILDER, startFactoryTestContext, type FactoryTestContext } from '../../factory/test-context.ts';
import type { Backend } from '../../model/backend.ts';
import { createBackend } from '../../model/create-backend.ts';
import { createAdmission } from '../../inference/admission.ts';
import { createApiKey, revokeApiKey } from '../../inference/api-keys.ts';
import { buildApi } from '../server.ts';

const CONSUMER = 7;
let f: FactoryTestContext;
let app: FastifyInstance;
let backend: Backend;
let client: OpenAI;
let baseURL: string;
let question: string;

before(async () => {
  f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), {
    modelName: 'facts-qa', baseModel: 'openledger-tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: '1000',
    hyperparameters: { sketchDimension: 256 },
  });
  await createFactoryWorker(f.ctx).drain();
  backend = createBackend({ threads: 1 });
  const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'attribution') });
  app = buildApi({ ...f.ctx, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), admission: createAdmission({ concurrency: 1, queue: 1, retryAfterSeconds: 2 }), rpcUrl: f.t.anvil.url, embeddedChain: false, addresses: f.t.addresses, version: 'test', logLevel: process.env.API_LOG ?? 'silent', checkResponses: true });
  baseURL = `${await app.listen({ port: 0, host: '127.0.0.1' })}/v1`;
  const { key } = await createApiKey(f.db, f.addr(CONSUMER), 'test');
  client = new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
  question = f.facts.train[0]!.prompt;
});

after(async () => {
  await app?.close();
  await backend?.dispose();
  await f?.stop();
});

type WithReceipt = { openledger: { receipt_id: string; fee: { amount: string }; attribution: { contributions: unknown[] } } };

describe('the OpenAI-compatible API, through the official openai client', () => {
  test('lists the published models and the base models', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['facts-qa', 'openledger-tiny', 'tiny']);
  });

  test('serves a base model alone: usage, but no receipt and no fee', async () => {
    const r = await client.completions.create({ model: 'tiny', prompt: `### Question: ${question}\n### Answer:`, max_tokens: 6, temperature: 0 });
    assert.ok(r.usage && r.usage.prompt_tokens > 0);
    assert.equal((r as unknown as { openledger: { receipt_id: null } }).openledger.receipt_id, null);
    const adapted = await client.completions.create({ model: 'facts-qa', prompt: `### Question: ${question}\n### Answer:`, max_tokens: 6, temperature: 0 });
    assert.notEqual(r.choices[0]!.text, adapted.choices[0]!.text, 'the adapter changes the answer');
  });

  test('completes a prompt, with usage and an attribution receipt bound to the key’s account', async () => {
    const r = await client.completions.create({ model: 'facts-qa', prompt: `### Question: ${question}\n### Answer:`, max_tokens: 12, temperature: 0 });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices.length, 1);
    assert.ok(['stop', 'length'].includes(r.choices[0]!.finish_reason));
    assert.equal(r.usage!.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
    const receipt = await getReceipt(f.db, (r as unknown as WithReceipt).openledger.receipt_id);
    assert.equal(receipt.output, r.choices[0]!.text);
    assert.equal(receipt.consumer, f.addr(CONSUMER));
  });

  test('chats, and streams the same answer piece by piece, receipt in the last chunk', async () => {
    const messages = [{ role: 'user' as const, content: question }];
    const whole = await client.chat.completions.create({ model: 'facts-qa', messages, max_tokens: 16, temperature: 0 });
    assert.equal(whole.choices[0]!.message.role, 'assistant');
    const stream = await client.chat.completions.create({ model: 'facts-qa', messages, max_tokens: 16, temperature: 0, stream: true });
    let text = '', chunks = 0, last: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      chunks++;
      last = chunk;
    }
    assert.equal(text, whole.choices[0]!.message.content);
    assert.ok(chunks >= 2);
    assert.match((last as WithReceipt).openledger.receipt_id, /^0x[0-9a-f]{64}$/);
    assert.ok((last as { usage: { completion_tokens: number } }).usage.completion_tokens > 0);
  });

  test('stops at a stop string and honours max_tokens and the seed', async () => {
    const prompt = `### Question: ${question}\n### Answer:`;
    const free = await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 12, temperature: 0 });
    const word = free.choices[0]!.text.slice(2, 4);
    assert.equal(word.length, 2, `an answer of at least 4 characters: ${JSON.stringify(free.choices[0]!.text)}`);
    const stopped = await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 12, temperature: 0, stop: [word] });
    assert.equal(stopped.choices[0]!.text, free.choices[0]!.text.slice(0, free.choices[0]!.text.indexOf(word)));
    const short = await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 1, temperature: 0 });
    assert.equal(short.usage!.completion_tokens <= 2, true);
    const a = await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 8, temperature: 1, seed: 5 });
    const b = await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 8, temperature: 1, seed: 5 });
    assert.equal(a.choices[0]!.text, b.choices[0]!.text);
  });

  test('beyond its queue the node answers 429 with Retry-After, and the admitted requests complete', async () => {
    const prompt = `### Question: ${question}\n### Answer:`;
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => client.completions.create({ model: 'facts-qa', prompt, max_tokens: 48, temperature: 0 })));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    assert.ok(refused.length >= 1 && refused.length <= 2, `${refused.length} refused`);
    for (const e of refused) {
      assert.ok(e instanceof OpenAI.RateLimitError, String(e));
      assert.equal(e.headers.get('retry-after'), '2');
    }
    assert.ok(results.filter((r) => r.status === 'fulfilled').length >= 2);
  });

  test('answers bad requests the way OpenAI clients expect', async () => {
    await assert.rejects(client.completions.create({ model: 'facts-qa', prompt: 'x', temperature: 5 }), (e: unknown) => e instanceof OpenAI.BadRequestError && /temperature/.test(e.message));
    await assert.rejects(client.completions.create({ model: 'facts-qa', prompt: 'x', n: 2 }), OpenAI.BadRequestError);
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }), OpenAI.NotFoundError);
    await assert.rejects(new OpenAI({ apiKey: 'olk_wrong', baseURL, maxRetries: 0 }).completions.create({ model: 'facts-qa', prompt: 'x' }), OpenAI.AuthenticationError);
    const { key, apiKey } = await createApiKey(f.db, f.addr(CONSUMER));
    await revokeApiKey(f.db, apiKey.id, f.addr(CONSUMER));
    await assert.rejects(new OpenAI({ apiKey: key, baseURL, maxRetries: 0 }).completions.create({ model: 'facts-qa', prompt: 'x' }), OpenAI.AuthenticationError);
  });

  test('a retried request (one Idempotency-Key) is answered with its first answer and receipt: one receipt, streamed or not', async () => {
    const prompt = `### Question: ${question}\n### Answer:`;
    const receipts = async () => Number((await f.db.query<{ n: string }>('select count(*) as n from attribution_receipts where consumer = $1', [f.addr(CONSUMER)]))[0]!.n);
    const before = await receipts();
    const headers = { 'Idempotency-Key': `retry-${Date.now()}` };
    const first = await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 8, temperature: 0 }, { headers }) as unknown as OpenAI.Completion & WithReceipt;
    const again = await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 8, temperature: 0 }, { headers }) as unknown as OpenAI.Completion & WithReceipt;
    assert.equal(again.openledger.receipt_id, first.openledger.receipt_id);
    assert.equal(again.choices[0]!.text, first.choices[0]!.text);
    assert.deepEqual(again.openledger.attribution, first.openledger.attribution);
    let streamed = '', last: WithReceipt | undefined;
    for await (const chunk of await client.completions.create({ model: 'facts-qa', prompt, max_tokens: 8, temperature: 0, stream: true }, { headers })) {
      streamed += chunk.choices[0]?.text ?? '';
      if ((chunk as unknown as Partial<WithReceipt>).openledger) last = chunk as unknown as WithReceipt;
    }
    assert.equal(streamed, first.choices[0]!.text);
    assert.equal(last?.openledger.receipt_id, first.openledger.receipt_id);
    assert.equal(await receipts(), before + 1, 'three tries, one receipt');
    // the key names one request: another request under it is refused, not answered with the first
    await assert.rejects(client.completions.create({ model: 'facts-qa', prompt, max_tokens: 9, temperature: 0 }, { headers }), (e: unknown) => e instanceof OpenAI.UnprocessableEntityError && /was used for a different request/.test(e.message));
    await assert.rejects(client.completions.create({ model: 'facts-qa', prompt, max_tokens: 8 }, { headers: { 'Idempotency-Key': 'x'.repeat(256) } }), (e: unknown) => e instanceof OpenAI.BadRequestError && /Idempotency-Key must be/.test(e.message));
    // keys are the consumer's own: another account's request under the same key is its own request
    const { key: otherKey } = await createApiKey(f.db, f.addr(CONSUMER + 1), 'other');
    const other = await new OpenAI({ apiKey: otherKey, baseURL, maxRetries: 0 }).completions.create({ model: 'facts-qa', prompt, max_tokens: 8, temperature: 0 }, { headers }) as unknown as WithReceipt;
    assert.notEqual(other.openledger.receipt_id, first.openledger.receipt_id);
  });

  test('a prompt longer than the model\'s context is a 400 naming the limit, and an answer in flight still completes', async () => {
    const prompt = `### Question: ${question}\n### Answer:`;
    const [answer, long] = await Promise.allSettled([
      client.completions.create({ model: 'facts-qa', prompt, max_tokens: 8, temperature: 0 }),
      client.completions.create({ model: 'facts-qa', prompt: 'word '.repeat(2000), max_tokens: 4 }),
    ]);
    assert.equal(answer.status, 'fulfilled');
    assert.equal(long.status, 'rejected');
    const e = (long as PromiseRejectedResult).reason;
    assert.ok(e instanceof OpenAI.BadRequestError && /this model's context is 512 tokens/.test(e.message), String(e));
  });
});
