import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from './backend.ts';
import type { ModelConfig } from './config.ts';
import { Llama, WeightShapeError, type Parameter } from './llama.ts';
import { seededRandom } from './random.ts';
import { referenceBackend, tinyConfig } from './test-models.test-util.ts';

function batch(config: ModelConfig, B: number, S: number, seed: number) {
  const rng = seededRandom(seed);
  const ids = Int32Array.from({ length: B * S }, () => rng.int(config.vocabSize));
  const targets = Int32Array.from({ length: B * S }, (_, i) => (i % 5 === 3 ? -1 : rng.int(config.vocabSize)));
  return { ids, targets };
}

/**
 * Checks the analytic gradient against a central finite difference along a direction (random,
 * tilted towards the analytic gradient so the derivative is not near zero):
 * (L(θ + εv) − L(θ − εv)) / 2ε ≈ ∇L·v.
 */
async function checkDirectionalDerivative(be: Backend, params: Parameter[], loss: () => Promise<number>, grads: () => Promise<void>, seed: number, eps = 1e-3) {
  const rng = seededRandom(seed);
  for (const p of params) be.fill(p.grad, 0);
  await grads();
  const base = await Promise.all(params.map((p) => be.read(p.value)));
  const grad = await Promise.all(params.map((p) => be.read(p.grad)));
  // a random unit direction plus the analytic gradient's, so the derivative along it is never ~0
  const norm2 = (xs: Float32Array[]) => Math.sqrt(xs.reduce((s, d) => s + d.reduce((a, x) => a + x * x, 0), 0));
  const random = base.map((x) => Float32Array.from(x, () => rng.normal()));
  const rn = norm2(random), gn = norm2(grad) || 1;
  const dirs = random.map((r, i) => Float32Array.from(r, (x, j) => x / rn + (0.2 * grad[i]![j]!) / gn));
  const norm = norm2(dirs);
  for (const d of dirs) for (let j = 0; j < d.length; j++) d[j]! /= norm;
  let analytic = 0;
  for (let i = 0; i < params.length; i++) for (let j = 0; j < grad[i]!.length; j++) analytic += grad[i]![j]! * dirs[i]![j]!;
  const at = async (eps: number) => {
    params.forEach((p, i) => be.write(p.value, Float32Array.from(base[i]!, (x, j) => x + eps * dirs[i]![j]!)));
    return loss();
  };
  const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
  params.forEach((p, i) => be.write(p.value, base[i]!));
  assert.ok(Math.abs(analytic) > 1e-2, `direction should not be orthogonal to the gradient (${analytic})`);
  assert.ok(Math.abs(numeric - analytic) <= 0.02 * Math.abs(analytic) + 2e-3, `finite difference ${numeric} vs analytic ${analytic}`);
}

/** Each architecture's differences from Llama, on the tiny config (head width 4). */
const architectureVariants: Array<[string, Partial<ModelConfig>]> = [
  ['Llama 3 rope scaling', { ropeScaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 16 } }],
  ['Qwen3 q/k norms', { architecture: 'qwen3', qkNorm: true }],
  ['SmolLM3 layer without rope', { architecture: 'smollm3', noRopeLayers: [1] }],
  ['Phi partial rotary, longrope', { architecture: 'phi3', rotaryDim: 2, ropeScaling: { type: 'longrope', shortFactor: [1.5], longFactor: [4], originalMaxPositions: 64, attentionFactor: 1.2 } }],
  ['Gemma 3 GeGLU, sandwich norms, scaled embeddings, q/k norms', {
    architecture: 'gemma3', activation: 'gelu_tanh', outputNorms: true, scaleEmbeddings: true, qkNorm: true, tieEmbeddings: true, queryScale: 0.3,
    layerAttention: ['sliding', 'full'], slidingWindow: 4, localRopeTheta: 100,
  }],
];

describe('Llama', () => {
  const variants: Array<[string, Partial<ModelConfig>]> = [
    ['untied, grouped-query', {}],
    ['tied embeddings', { tieEmbeddings: true }],
    ['q/k/v biases, multi-head', { attentionBias: true, numKvHeads: 4 }],
    ...architectureVariants,
    ['sliding window of 3 on the second layer, score scale 0.7', { slidingWindow: 3, layerAttention: ['full', 'sliding'], queryScale: 0.7 }],
  ];

  for (const [label, overrides] of variants) {
    it(`full-weight gradients match finite differences (${label})`, async () => {
      const be = referenceBackend();
      const config = tinyConfig(overrides);
      const model = Llama.random(be, config, 3);
      // larger weights than the 0.02 init, so every path carries signal
      // norms three times larger, not ten: ten-times q/k and output norms saturate the softmax
      for (const [name, t] of model.namedWeights()) {
        const x = await be.read(t);
        be.write(t, x.map((v) => v * (name.endsWith('norm.weight') ? 3 : 10) + (x.length === config.hiddenSize ? 0 : 0.01)));
      }
      const params = model.enableFullGradients();
      const { ids, targets } = batch(config, 2, 7, 11);
      const mean = async () => {
        const r = await model.loss(ids, targets, 2, 7);
        return r.lossSum / r.tokens;
      };
      for (const [i, subset] of [params, params.filter((p) => p.name.includes('layers.0.')), params.filter((p) => p.name.includes('norm'))].entries()) {
        await checkDirectionalDerivative(be, subset, mean, async () => {
          for (const p of params) be.fill(p.grad, 0);
          await model.lossAndGradients(ids, targets, 2, 7);
        }, 100 + i);
      }
    });
  }

  for (const [label, overrides] of [['llama', {}] as [string, Partial<ModelConfig>], ...architectureVariants]) {
  it(`LoRA gradients match finite differences on every target (${label})`, async () => {
    const be = referenceBackend();
    const config = tinyConfig(overrides);
    const model = Llama.random(be, config, 5);
    // larger weights than the 0.02 init, so every path carries signal (norm weights only three times:
    // ten times larger q/k norms saturate the softmax, and finite differences with it)
    for (const [name, t] of model.namedWeights()) be.write(t, (await be.read(t)).map((v) => v * (name.endsWith('norm.weight') ? 3 : 10)));
    const lora = model.createLora({ r: 3, alpha: 6, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], baseModel: 'test' }, 9);
    const params = model.loraParameters(lora);
    const rng = seededRandom(4);
    for (const p of params) be.write(p.value, Float32Array.from({ length: p.value.length }, () => rng.normal() * 0.3));
    const { ids, targets } = batch(config, 1, 9, 12);
    const mean = async () => {
      const r = await model.loss(ids, targets, 1, 9, lora);
      return r.lossSum / r.tokens;
    };
    const grads = async () => {
      for (const p of params) be.fill(p.grad, 0);
      await model.lossAndGradients(ids, targets, 1, 9, { lora });
    };
    // a smaller step than the full-weight checks: q/k norms make the loss curve sharply along the adapters
    await checkDirectionalDerivative(be, params, mean, grads, 1, 1e-4);
    await checkDirectionalDerivative(be, params.filter((p) => p.name.includes('lora_A')), mean, grads, 2, 1e-4);
    await checkDirectionalDerivative(be, params.filter((p) => p.name.includes('mlp')), mean, grads, 3, 1e-4);
  });
  }

  it('a fresh adapter (B = 0) leaves the logits unchanged, and base weights get no gradient', async () => {
    const be = referenceBackend();
    const config = tinyConfig();
    const model = Llama.random(be, config, 1);
    const { ids } = batch(config, 1, 6, 2);
    const base = await model.logits(ids, 1, 6);
    const lora = model.createLora({ r: 2, alpha: 4, targetModules: ['q_proj', 'down_proj'], baseModel: 'test' }, 1);
    assert.deepEqual(await model.logits(ids, 1, 6, lora), base);
    const before = await model.toTensors();
    await model.lossAndGradients(ids, Int32Array.from(ids), 1, 6, { lora });
    assert.deepEqual(await model.toTensors(), before);
  });

  it('is causal: a token never sees later tokens, and batch rows are independent', async () => {
    const be = referenceBackend();
    const config = tinyConfig();
    const model = Llama.random(be, config, 2);
    const { ids } = batch(config, 2, 8, 3);
    const both = await model.logits(ids, 2, 8);
    const first = await model.logits(ids.subarray(0, 8), 1, 8);
    const prefix = await model.logits(ids.subarray(0, 5), 1, 5);
    const V = config.vocabSize;
    for (let i = 0; i < 8 * V; i++) assert.ok(Math.abs(both[i]! - first[i]!) < 1e-5);
    for (let i = 0; i < 5 * V; i++) assert.ok(Math.abs(prefix[i]! - first[i]!) < 1e-5);
  });

  it('round-trips its weights through Hugging Face names and rejects wrong shapes', async () => {
    const be = referenceBackend();
    const config = tinyConfig({ attentionBias: true });
    const model = Llama.random(be, config, 4);
    const tensors = await model.toTensors();
    assert.ok(tensors.has('model.layers.1.self_attn.k_proj.bias'));
    const again = Llama.fromTensors(be, config, tensors);
    const { ids } = batch(config, 1, 5, 1);
    assert.deepEqual(await again.logits(ids, 1, 5), await model.logits(ids, 1, 5));
    const bad = new Map(tensors);
    bad.set('model.layers.0.mlp.up_proj.weight', { shape: [3, 3], data: new Float32Array(9) });
    assert.throws(() => Llama.fromTensors(be, config, bad), WeightShapeError);
    bad.delete('model.norm.weight');
    assert.throws(() => Llama.fromTensors(be, config, bad), /model.norm.weight is missing|shape/);
  });

  it('rejects token ids outside the vocabulary', async () => {
    const be = referenceBackend();
    const model = Llama.random(be, tinyConfig(), 1);
    await assert.rejects(model.logits(Int32Array.from([1, 99]), 1, 2), /outside the vocabulary/);
  });
});
