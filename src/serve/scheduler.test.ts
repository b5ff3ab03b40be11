import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createBackend } from '../model/create-backend.ts';
import { tinyRandomAdapter, tinyRandomWeights } from '../model/export-fixtures.test-util.ts';
import { generate } from '../model/generate.ts';
import { Llama, type LoraAdapter } from '../model/llama.ts';
import { seededRandom } from '../model/random.ts';
import { tinyConfig } from '../model/test-models.test-util.ts';
import { Decoder } from '../model/decoder.ts';
import { PagedKvCache } from '../model/kv-cache.ts';
import { Scheduler } from './scheduler.ts';

const backend = createBackend({ threads: 1 });
after(() => backend.dispose());

describe('Scheduler (continuous batching across adapters)', () => {
  const config = tinyConfig({ vocabSize: 300, hiddenSize: 32, intermediateSize: 64, headDim: 8, maxPositions: 128 });
  const model = Llama.fromTensors(backend, config, tinyRandomWeights(config, 5));
  const adapters: Array<LoraAdapter | null> = [1, 2, 3].map((seed) => model.loadLora(tinyRandomAdapter(config, { r: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'up_proj'], seed })));
  adapters.push(null);
  const rng = seededRandom(3);
  const requests = Array.from({ length: 7 }, (_, i) => ({
    adapter: adapters[i % adapters.length]!,
    prompt: Array.from({ length: 3 + rng.int(9) }, () => rng.int(config.vocabSize)),
    maxTokens: 4 + rng.int(8),
  }));

  it('gives every request what it would get alone, while requests join, share steps and leave', async () => {
    const alone = [];
    for (const r of requests) alone.push((await generate(model, r.adapter, r.prompt, { maxTokens: r.maxTokens })).tokens);
    // few sequences, a small token budget (prompts prefill in chunks) and a cache too small for all at once
    const cache = new PagedKvCache(backend, config, { numBlocks: 10, blockSize: 4 });
    const scheduler = new Scheduler(new Decoder(model, cache), { maxSequences: 3, maxBatchTokens: 8 });
    const together = await Promise.all(requests.map((r) => scheduler.generate(r)));
    assert.deepEqual(together.map((r) => r.tokens), alone);
    assert.ok(together.every((r) => r.finishReason === 'length'));
    assert.equal(cache.freeBlocks, 10, 'every block is back');
  });

  it('a cancelled request leaves without disturbing the others; stop tokens end a sequence', async () => {
    const cache = new PagedKvCache(backend, config, { numBlocks: 32, blockSize: 4 });
    const scheduler = new Scheduler(new Decoder(model, cache), { maxSequences: 8, maxBatchTokens: 64 });
    const controller = new AbortController();
    let seen = 0;
    const cancelled = scheduler.generate({ ...requests[0]!, maxTokens: 50, signal: controller.signal, onToken: () => void (++seen === 2 && controller.abort()) });
    const others = requests.slice(1, 4).map((r) => scheduler.generate(r));
    const first = (await generate(model, requests[1]!.adapter, requests[1]!.prompt, { maxTokens: 1 })).tokens[0]!;
    const stopped = scheduler.generate({ ...requests[1]!, stopTokens: [first] });
    assert.equal((await cancelled).finishReason, 'cancelled');
    assert.ok((await cancelled).tokens.length <= 3);
    for (const [i, r] of (await Promise.all(others)).entries()) {
      assert.deepEqual(r.tokens, (await generate(model, requests[i + 1]!.adapter, requests[i + 1]!.prompt, { maxTokens: requests[i + 1]!.maxTokens })).tokens);
    }
    assert.deepEqual(await stopped, { tokens: [], finishReason: 'stop' });
    assert.equal(cache.freeBlocks, 32);
  });

  it('reuses the cached keys and values of a shared prompt prefix, per adapter, with the same results', async () => {
    const cache = new PagedKvCache(backend, config, { numBlocks: 24, blockSize: 4 });
    const scheduler = new Scheduler(new Decoder(model, cache), { maxSequences: 4, maxBatchTokens: 64 });
    const prefix = Array.from({ length: 17 }, (_, i) => (i * 7) % config.vocabSize);
    const ask = (adapter: LoraAdapter | null, tail: number) => ({ adapter, prompt: [...prefix, tail], maxTokens: 5 });
    const expect = async (r: ReturnType<typeof ask>) => (await generate(model, r.adapter, r.prompt, { maxTokens: r.maxTokens })).tokens;
    const first = ask(adapters[0]!, 1);
    assert.deepEqual((await scheduler.generate(first)).tokens, await expect(first));
    assert.equal(cache.prefixTokensReused, 0);
    const second = ask(adapters[0]!, 2);
    assert.deepEqual((await scheduler.generate(second)).tokens, await expect(second));
    assert.equal(cache.prefixTokensReused, 16, 'four full blocks of the shared prompt were adopted');
    const other = ask(adapters[1]!, 2);
    assert.deepEqual((await scheduler.generate(other)).tokens, await expect(other));
    assert.equal(cache.prefixTokensReused, 16, 'another adapter computes its own keys and values');
    // running out of free blocks takes back the unused cached prefixes
    const many = Array.from({ length: 4 }, (_, i) => scheduler.generate({ adapter: adapters[2]!, prompt: Array.from({ length: 18 }, (_, j) => (i * 31 + j) % config.vocabSize), maxTokens: 3 }));
    await Promise.all(many);
    assert.equal(cache.freeBlocks, 24);
  });

  it('a prompt longer than the context is refused alone (400 naming the limit); the batch goes on', async () => {
    const cache = new PagedKvCache(backend, config, { numBlocks: 64, blockSize: 4 });
    const scheduler = new Scheduler(new Decoder(model, cache), { maxSequences: 8, maxBatchTokens: 64 });
    const others = requests.slice(0, 3).map((r) => scheduler.generate(r));
    const long = scheduler.generate({ adapter: null, prompt: Array.from({ length: config.maxPositions + 1 }, (_, i) => i % config.vocabSize), maxTokens: 4 });
    await assert.rejects(long, (err: Error & { code?: string }) => err.name === 'ContextLengthError' && err.code === 'context_length_exceeded' && /129 tokens; this model's context is 128/.test(err.message));
    for (const [i, r] of (await Promise.all(others)).entries()) {
      assert.deepEqual(r.tokens, (await generate(model, requests[i]!.adapter, requests[i]!.prompt, { maxTokens: requests[i]!.maxTokens })).tokens);
    }
    assert.equal(cache.freeBlocks, 64);
  });

  it('a step that fails because of one sequence fails that sequence only', async () => {
    // the decoder is the real one; a poisoned token makes any step holding it throw, as a bad row would
    const poison = config.vocabSize - 1;
    class FaultyDecoder extends Decoder {
      override step(rows: Parameters<Decoder['step']>[0]) {
        return rows.some((r) => r.token === poison) ? Promise.reject(new Error('poisoned row')) : super.step(rows);
      }
    }
    const cache = new PagedKvCache(backend, config, { numBlocks: 64, blockSize: 4 });
    const scheduler = new Scheduler(new FaultyDecoder(model, cache), { maxSequences: 8, maxBatchTokens: 64 });
    const clean = requests.slice(0, 3).map((r) => ({ ...r, prompt: r.prompt.map((t) => t % poison) }));
    const others = clean.map((r) => scheduler.generate(r));
    const bad = scheduler.generate({ adapter: null, prompt: [1, 2, poison], maxTokens: 4 });
    await assert.rejects(bad, /poisoned row/);
    const results = await Promise.all(others);
    for (const [i, r] of results.entries()) {
      const alone = (await generate(model, clean[i]!.adapter, clean[i]!.prompt, { maxTokens: clean[i]!.maxTokens })).tokens;
      assert.deepEqual(r.tokens, alone);
    }
    assert.equal(cache.freeBlocks, 64);
  });
});
