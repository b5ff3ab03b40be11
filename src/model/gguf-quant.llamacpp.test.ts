/**
 * GGUF files whose matrices this project quantised (Q8_0, Q4_0, Q4_K, Q6_K, `ggml-quants.ts`) load
 * in llama.cpp (node-llama-cpp's prebuilt CPU binary), and its logits match the float64 reference
 * forward pass on the weights as this project dequantises them. A wrong block layout (nibble order,
 * scale packing, f16 placement) turns the logits into noise of the logits' own size; llama.cpp's
 * own rounding (it quantises the activations to 8 bits for these dot products) stays a few percent.
 * Skips, saying why, where node-llama-cpp cannot be loaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelConfig } from './config.ts';
import { baseGgufContent } from './export-gguf.ts';
import { tinyByteLevelTokenizer, tinyRandomWeights } from './export-fixtures.test-util.ts';
import { dequantize, quantize } from './ggml-quants.ts';
import { writeGgufFile } from './gguf.ts';
import { llamaCppLogits, loadLlama, maxAbs, maxAbsDiff } from './llama-cpp.test-util.ts';
import { referenceForward } from './reference-forward.test-util.ts';
import type { TensorMap } from './tensor-map.ts';

const tokens = [5, 17, 260, 100, 42, 299, 3, 250];
// rows of 256 (hidden) and 512 (intermediate): whole Q4_K / Q6_K super-blocks
const config: ModelConfig = {
  vocabSize: 304, hiddenSize: 256, intermediateSize: 512, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 64,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 64, tieEmbeddings: false, attentionBias: false, eosTokenId: 300,
};

for (const type of ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] as const) {
  test(`llama.cpp loads a GGUF with ${type} matrices and matches the reference on the dequantised weights`, async (t) => {
    const env = await loadLlama();
    if (typeof env === 'string') {
      t.skip(env);
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'gguf-quant-'));
    try {
      const weights = tinyRandomWeights(config, 5);
      // every matrix is whole blocks of every type here, so the exporter stores each as `type`
      const path = join(dir, `model-${type}.gguf`);
      const content = baseGgufContent({ config, tensors: weights, tokenizerJson: tinyByteLevelTokenizer(), dtype: type });
      assert.ok(content.tensors.every((t) => t.shape.length === 1 || t.type === type));
      await writeGgufFile(path, content);
      // quantising rows commutes with the exporter's row permutation of q and k, so the
      // Hugging Face matrices dequantised are what llama.cpp holds
      const seen: TensorMap = new Map([...weights].map(([name, w]) => [name, w.shape.length === 2 ? { shape: w.shape, data: dequantize(type, quantize(type, w.data), w.data.length) } : w]));
      const expected = referenceForward(config, seen, tokens);
      const unquantised = referenceForward(config, weights, tokens);
      const got = await llamaCppLogits(env.llama, path, tokens, config.vocabSize);
      const scale = maxAbs(expected), d = maxAbsDiff(got, expected), quantEffect = maxAbsDiff(expected, unquantised);
      t.diagnostic(`${type}: max |logit| ${scale.toFixed(2)}; llama.cpp vs reference on dequantised weights ${d.toExponential(2)}; quantisation itself moves logits by ${quantEffect.toExponential(2)}`);
      assert.ok(d < 0.05 * scale, `${type}: llama.cpp logits differ from the reference by ${d} (max |logit| ${scale})`);
      // 4-bit rounding moves the logits far more than llama.cpp's 8-bit activations: it must have read our blocks
      if (type === 'Q4_0' || type === 'Q4_K') assert.ok(d < quantEffect / 4, `${type}: llama.cpp is not much closer to the dequantised weights (${d}) than to the originals (${quantEffect})`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
