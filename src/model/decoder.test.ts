import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createBackend } from './create-backend.ts';
import { tinyRandomAdapter, tinyRandomWeights } from './export-fixtures.test-util.ts';
import { Llama, type LoraAdapter } from './llama.ts';
import { seededRandom } from './random.ts';
import { referenceBackend, tinyConfig } from './test-models.test-util.ts';
import { HalfMatrixError } from './half-matrix.ts';
import type { ModelConfig } from './config.ts';
import { Decoder } from './decoder.ts';
import { KvCacheFullError, PagedKvCache } from './kv-cache.ts';

const backend = createBackend({ threads: 1 });
after(() => backend.dispose());
const all = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

function close(a: Float32Array, b: Float32Array, what: string) {
  let max = 0, scale = 1;
  for (let i = 0; i < a.length; i++) {
    max = Math.max(max, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  assert.ok(max <= 1e-4 * scale, `${what}: max |Δ| ${max}`);
}

describe('Decoder (paged KV cache, one adapter per row)', () => {
  const variants: Array<[string, Partial<ModelConfig>]> = [
    ['grouped-query, untied', {}],
    ['tied, q/k/v biases', { tieEmbeddings: true, attentionBias: true, numKvHeads: 4 }],
    ['Qwen3 q/k norms, Llama 3 rope scaling', { architecture: 'qwen3', qkNorm: true, ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8 } }],
    ['Gemma 3 layout, a layer without rope, partial rotary', {
      architecture: 'gemma3', activation: 'gelu_tanh', outputNorms: true, scaleEmbeddings: true, qkNorm: true, queryScale: 0.2, noRopeLayers: [0], rotaryDim: 4,
    }],
    ['sliding window of 4 on every layer, score scale 0.5', { slidingWindow: 4, layerAttention: ['sliding', 'sliding'], queryScale: 0.5 }],
    ['Phi longrope attention factor, window 3 on the first layer', { architecture: 'phi3', rotaryDim: 4, ropeScaling: { type: 'longrope', shortFactor: [1.5, 2], longFactor: [3, 4], originalMaxPositions: 64, attentionFactor: 1.3 }, slidingWindow: 3, layerAttention: ['sliding', 'full'] }],
  ];
  for (const [label, overrides] of variants) {
    it(`gives the logits of the full forward pass, prefill and decode mixed across adapters (${label})`, async () => {
      const config = tinyConfig({ vocabSize: 300, hiddenSize: 32, intermediateSize: 64, headDim: 8, ...overrides });
      const model = Llama.fromTensors(backend, config, tinyRandomWeights(config, 3));
      const adapters: Array<LoraAdapter | null> = [
        model.loadLora(tinyRandomAdapter(config, { r: 4, alpha: 8, targets: [...all], seed: 1 }), 'serving'),
        model.loadLora(tinyRandomAdapter(config, { r: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'down_proj'], seed: 2 }), 'serving'),
        null,
      ];
      const cache = new PagedKvCache(backend, config, { numBlocks: 16, blockSize: 4 });
      const decoder = new Decoder(model, cache);
      const rng = seededRandom(9);
      const seqs = [7, 3, 5].map((n) => Array.from({ length: n }, () => rng.int(config.vocabSize)));
      const expectLast = async (i: number, logits: Float32Array, row: number) => {
        const full = await model.logits(Int32Array.from(seqs[i]!), 1, seqs[i]!.length, adapters[i]);
        const V = config.vocabSize;
        close(logits.subarray(row * V, (row + 1) * V), full.subarray((seqs[i]!.length - 1) * V), `sequence ${i} at length ${seqs[i]!.length}`);
      };
      // one step prefills all three prompts
      const rows = seqs.flatMap((s, i) => s.map((token, position) => ({ sequence: `s${i}`, token, position, adapter: adapters[i]! })));
      const logits = await decoder.logits(rows);
      let row = -1;
      for (let i = 0; i < 3; i++) await expectLast(i, logits, (row += seqs[i]!.length));
      // then decode steps, all sequences together, each one token
      for (let stepNo = 0; stepNo < 6; stepNo++) {
        for (const s of seqs) s.push(rng.int(config.vocabSize));
        const out = await decoder.logits(seqs.map((s, i) => ({ sequence: `s${i}`, token: s.at(-1)!, position: s.length - 1, adapter: adapters[i]! })));
        for (let i = 0; i < 3; i++) await expectLast(i, out, i);
      }
      cache.release('s0');
      assert.equal(cache.freeBlocks, 16 - cache.blockTable('s1').length - cache.blockTable('s2').length);
    });
  }

  it('serves an adapter in half precision: the same on the native kernels as on a backend without them, within half rounding of the adapter as given', async () => {
    const config = tinyConfig({ vocabSize: 300, hiddenSize: 32, intermediateSize: 64, headDim: 8 });
    const weights = tinyRandomWeights(config, 5);
    const native = Llama.fromTensors(backend, config, weights), plain = Llama.fromTensors(referenceBackend(), config, weights);
    const given = [1, 2].map((seed) => tinyRandomAdapter(config, { r: 4, alpha: 8, targets: [...all], seed }));
    // factors past half's range (65504) and far below its normal range: each factor's own scale keeps them
    for (const pair of Object.values(given[1]!.layers[0]!)) {
      pair!.a.forEach((v, i, a) => (a[i] = v * 1e6));
      pair!.b.forEach((v, i, b) => (b[i] = v * 1e-7));
    }
    const prompts = [[5, 9, 2, 44], [7, 1, 8], [3]];
    const decode = async (model: Llama, adapters: Array<LoraAdapter | null>) => {
      const rows = prompts.flatMap((p, i) => p.map((token, position) => ({ sequence: `p${i}`, token, position, adapter: adapters[i]! })));
      return new Decoder(model, new PagedKvCache(model.backend, config, { numBlocks: 8, blockSize: 4 })).logits(rows);
    };
    const served = await decode(native, [...given.map((w) => native.loadLora(w, 'serving')), null]);
    assert.ok(served.every(Number.isFinite));
    close(served, await decode(plain, [...given.map((w) => plain.loadLora(w, 'serving')), null]), 'native kernels vs a backend without them');
    // against the adapter as given, the logits move by a small part of what the adapter moves them
    // (its factors carry half's relative rounding, 2^-11)
    const exact = await decode(plain, [...given.map((w) => plain.loadLora(w)), null]), base = await decode(plain, [null, null, null]);
    const maxDiff = (x: Float32Array, y: Float32Array) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
    const rounding = maxDiff(served, exact), moved = maxDiff(exact, base);
    assert.ok(rounding > 0 && rounding <= 2 ** -8 * moved, `served vs given ${rounding}, the adapter moves the logits by ${moved}`);
    // a factor half precision cannot hold under any scale is refused when loaded for serving
    const broken = tinyRandomAdapter(config, { r: 4, alpha: 8, targets: ['q_proj'], seed: 3 });
    broken.layers[1]!.q_proj!.b[5] = Number.NaN;
    assert.throws(() => native.loadLora(broken, 'serving'), HalfMatrixError);
  });

  it('samples on the backend only the rows that ask: greedy ids are the argmax of their logits', async () => {
    const config = tinyConfig({ vocabSize: 300, hiddenSize: 32, intermediateSize: 64, headDim: 8 });
    const model = Llama.fromTensors(backend, config, tinyRandomWeights(config, 4));
    const adapter = model.loadLora(tinyRandomAdapter(config, { r: 4, alpha: 8, targets: [...all], seed: 3 }));
    const prompts = [[5, 9, 2, 44], [7, 1]];
    const rows = prompts.flatMap((p, i) => p.map((token, position) => ({ sequence: `p${i}`, token, position, adapter: i ? adapter : null })));
    const reference = new Decoder(model, new PagedKvCache(backend, config, { numBlocks: 8, blockSize: 4 }));
    const logits = await reference.logits(rows);
    const V = config.vocabSize;
    const argmax = (row: number) => {
      const r = logits.subarray(row * V, (row + 1) * V);
      return r.indexOf(Math.max(...r));
    };
    const decoder = new Decoder(model, new PagedKvCache(backend, config, { numBlocks: 8, blockSize: 4 }));
    const greedy = { temperature: 0, topP: 1, uniform: 0 };
    // a prompt chunk alone asks for nothing and gets nothing back
    assert.deepEqual(await decoder.step(rows.slice(0, 2)), new Int32Array(0));
    const ids = await decoder.step(rows.slice(2).map((r, i, all) => (i === 1 || i === all.length - 1 ? { ...r, sample: greedy } : r)));
    assert.deepEqual(Array.from(ids), [argmax(3), argmax(5)]);
  });

  it('runs out of blocks with a clear error and reuses released ones', () => {
    const config = tinyConfig();
    const cache = new PagedKvCache(backend, config, { numBlocks: 3, blockSize: 4 });
    cache.reserve('a', 8);
    assert.throws(() => cache.reserve('b', 5), KvCacheFullError);
    cache.release('a');
    cache.reserve('b', 12);
    assert.equal(cache.freeBlocks, 0);
    assert.equal(cache.slot('b', 5) % 4, 1);
  });
});
