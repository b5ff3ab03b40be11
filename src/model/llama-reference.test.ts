import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ModelConfig } from './config.ts';
import { createBackend } from './create-backend.ts';
import { tinyRandomAdapter, tinyRandomWeights } from './export-fixtures.test-util.ts';
import { Llama } from './llama.ts';
import { referenceForward } from './reference-forward.test-util.ts';
import { tinyConfig } from './test-models.test-util.ts';

// The engine (WebAssembly kernels, worker pool) against an independent float64 forward pass
// written from the Hugging Face semantics (reference-forward.test-util.ts), with and without LoRA.
describe('Llama logits equal the reference forward pass', () => {
  const backend = createBackend({ threads: 2 });
  after(() => backend.dispose());
  const configs: Array<[string, ModelConfig]> = [
    ['grouped-query, untied', tinyConfig({ vocabSize: 300, hiddenSize: 32, intermediateSize: 64, headDim: 8 })],
    ['tied, q/k/v biases, head_dim ≠ hidden/heads', tinyConfig({ vocabSize: 300, hiddenSize: 32, intermediateSize: 48, headDim: 16, tieEmbeddings: true, attentionBias: true })],
  ];
  for (const [label, config] of configs) {
    it(label, async () => {
      const weights = tinyRandomWeights(config, 3);
      const model = Llama.fromTensors(backend, config, weights);
      const tokens = [5, 17, 42, 7, 299, 0, 13, 128, 64, 3];
      const adapterWeights = tinyRandomAdapter(config, { r: 4, alpha: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], seed: 4 });
      for (const adapter of [undefined, adapterWeights]) {
        const lora = adapter ? model.loadLora(adapter) : null;
        const ours = await model.logits(Int32Array.from(tokens), 1, tokens.length, lora);
        const ref = referenceForward(config, weights, tokens, adapter);
        let maxDiff = 0, maxAbs = 0;
        ref.forEach((row, s) => row.forEach((x, v) => {
          maxDiff = Math.max(maxDiff, Math.abs(x - ours[s * config.vocabSize + v]!));
          maxAbs = Math.max(maxAbs, Math.abs(x));
        }));
        assert.ok(maxDiff <= 1e-4 * Math.max(1, maxAbs), `${adapter ? 'with' : 'without'} adapter: max |Δ| ${maxDiff} (logits up to ${maxAbs})`);
      }
    });
  }
});
