/**
 * Exported GGUF files load in llama.cpp (through node-llama-cpp's prebuilt CPU binary) and compute
 * the same logits as the float64 reference forward pass, with and without a LoRA adapter.
 * Skips, saying why, where node-llama-cpp cannot be loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from './config.ts';
import { exportAdapterGguf, exportBaseGguf } from './export-gguf.ts';
import type { GgufExportDtype } from './export-gguf.ts';
import type { LoraAdapterWeights } from './lora-weights.ts';
import { allLoraTargets, referenceForward } from './reference-forward.test-util.ts';
import { bfloat16ToFloat32, float32ToBfloat16 } from './safetensors.ts';
import type { TensorMap } from './tensor-map.ts';
import { tinyByteLevelTokenizer, tinyRandomAdapter, tinyRandomWeights } from './export-fixtures.test-util.ts';
import { Tokenizer } from './tokenizer.ts';
import { llamaCppLogits, loadLlama, maxAbs, maxAbsDiff, type Token } from './llama-cpp.test-util.ts';
import { trainByteLevelBpe } from './train-bpe.ts';

const tokens = [5, 17, 260, 100, 42, 299, 3, 250, 71, 284];

/** The weights as llama.cpp sees them: matrices rounded to the stored type, vectors kept F32. */
function rounded(weights: TensorMap, dtype: GgufExportDtype): TensorMap {
  if (dtype === 'F32') return weights;
  const round = (data: Float32Array) => (dtype === 'F16' ? data.map(Math.f16round) : bfloat16ToFloat32(float32ToBfloat16(data)));
  return new Map([...weights].map(([name, t]) => [name, t.shape.length === 1 ? t : { shape: t.shape, data: round(t.data) }]));
}

const variants: Array<{ label: string; config: ModelConfig }> = [
  {
    label: 'separate output head, head_dim = hidden / heads',
    config: { vocabSize: 304, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8, rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 128, tieEmbeddings: false, attentionBias: false, eosTokenId: 300 },
  },
  {
    label: 'tied embeddings, q/k/v biases, head_dim 16 ≠ hidden / heads',
    config: { vocabSize: 304, hiddenSize: 32, intermediateSize: 48, numLayers: 2, numHeads: 4, numKvHeads: 1, headDim: 16, rmsNormEps: 1e-6, ropeTheta: 500000, maxPositions: 128, tieEmbeddings: true, attentionBias: true, eosTokenId: 300 },
  },
];

for (const { label, config } of variants) {
  test(`llama.cpp loads the exported base and adapter and matches the reference logits (${label})`, async (t) => {
    const env = await loadLlama();
    if (typeof env === 'string') {
      t.skip(env);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'export-gguf-'));
    try {
      const weights = tinyRandomWeights(config, 1);
      const adapter: LoraAdapterWeights = tinyRandomAdapter(config, { r: 4, alpha: 8, targets: allLoraTargets, seed: 2 });
      const tokenizerJson = tinyByteLevelTokenizer();
      const adapterPath = join(dir, 'adapter.gguf');
      await exportAdapterGguf({ config, adapter, path: adapterPath });
      for (const dtype of ['F32', 'F16', 'BF16'] as const) {
        const path = join(dir, `base-${dtype}.gguf`);
        await exportBaseGguf({ config, tensors: weights, tokenizerJson, path, dtype });
        const seen = rounded(weights, dtype);
        const expectedBase = referenceForward(config, seen, tokens);
        const expectedLora = referenceForward(config, seen, tokens, adapter);
        const base = await llamaCppLogits(env.llama, path, tokens, config.vocabSize);
        const lora = await llamaCppLogits(env.llama, path, tokens, config.vocabSize, adapterPath);
        const scale = maxAbs(expectedBase);
        const dBase = maxAbsDiff(base, expectedBase);
        const dLora = maxAbsDiff(lora, expectedLora);
        const loraEffect = maxAbsDiff(expectedLora, expectedBase);
        t.diagnostic(`${dtype} weights, F32 KV cache: max |logit| ${scale.toFixed(2)}; max abs diff vs reference: base ${dBase.toExponential(2)}, with adapter ${dLora.toExponential(2)} (the adapter moves logits by up to ${loraEffect.toFixed(2)})`);
        // F32 is exact to float32 rounding; with F16/BF16 weights llama.cpp also rounds the activations it multiplies by them
        const tolerance = { F32: 1e-5, F16: 5e-3, BF16: 3e-2 }[dtype] * scale;
        assert.ok(dBase < tolerance, `${dtype} base logits differ by ${dBase}`);
        assert.ok(dLora < tolerance, `${dtype} adapted logits differ by ${dLora}`);
        assert.ok(loraEffect > 0.5 * scale, 'the adapter must change the logits enough for the comparison to mean something');
        if (dtype === 'F32') {
          const defaultCache = await llamaCppLogits(env.llama, path, tokens, config.vocabSize, adapterPath, 'F16');
          const d = maxAbsDiff(defaultCache, expectedLora);
          t.diagnostic(`F32 weights, llama.cpp's default F16 KV cache: max abs diff with adapter ${d.toExponential(2)}`);
          assert.ok(d < 5e-3 * scale, `F16 KV cache logits differ by ${d}`);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('llama.cpp tokenizes and detokenizes with the exported byte-level BPE vocabulary', async (t) => {
  const env = await loadLlama();
  if (typeof env === 'string') {
    t.skip(env);
    return;
  }
  const config = variants[0]!.config;
  const dir = await mkdtemp(join(tmpdir(), 'export-gguf-'));
  try {
    const path = join(dir, 'base.gguf');
    const tokenizerJson = tinyByteLevelTokenizer();
    await exportBaseGguf({ config, tensors: tinyRandomWeights(config, 3), tokenizerJson, path, dtype: 'F32' });
    const model = await env.llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      const vocab = tokenizerJson.model.vocab;
      const text = 'the cat sat on the mat, then ran!\nÜber';
      const ids = model.tokenize(text);
      assert.equal(model.detokenize(ids), text);
      assert.ok(ids.includes(vocab['Ġthe']! as Token), `" the" is one token: ${ids.join(' ')}`);
      assert.equal(ids[0], vocab['the'], 'no BOS is added, and "the" is merged');
      assert.deepEqual(model.tokenize('<|endoftext|>', true), [300]);
      assert.equal(model.tokens.eos, 300);
    } finally {
      await model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("llama.cpp tokenizes like the project's Tokenizer with a tokenizer from the project's BPE trainer", async (t) => {
  const env = await loadLlama();
  if (typeof env === 'string') {
    t.skip(env);
    return;
  }
  const corpus = [
    'The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs!',
    "It's 2024 and we've got 3 cats, 12 dogs and 1000 fish.\n\nDon't   panic.",
    'Zorvania exports tin, saffron and glass. Über-café naïve résumé — 東京 🙂',
  ];
  const { tokenizerJson, tokenizerConfig } = trainByteLevelBpe(Array.from({ length: 20 }, () => corpus).flat(), { vocabSize: 360 });
  const tokenizer = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
  const config: ModelConfig = { ...variants[0]!.config, vocabSize: tokenizer.vocabSize, ...(tokenizer.eosId !== undefined ? { eosTokenId: tokenizer.eosId } : {}) };
  const dir = await mkdtemp(join(tmpdir(), 'export-gguf-'));
  try {
    const path = join(dir, 'base.gguf');
    await exportBaseGguf({ config, tensors: tinyRandomWeights(config, 5), tokenizerJson, path, dtype: 'F32' });
    const model = await env.llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      const texts = [...corpus, '  leading spaces', 'tabs\tand\r\nCRLF', "can't won't they'll", 'x'.repeat(50), ''];
      for (const text of texts) {
        const ours = tokenizer.encode(text, { addSpecialTokens: false });
        assert.deepEqual([...model.tokenize(text)], ours, JSON.stringify(text));
        assert.equal(model.detokenize(ours as Token[]), text);
      }
    } finally {
      await model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
