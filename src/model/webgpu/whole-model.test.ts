/**
 * The whole model on the WebGPU backend against the CPU reference: the same weights give the same
 * logits (with and without an adapter), LoRA training lowers the loss the same way step by step,
 * and the serving path (paged KV cache, continuous batching, per-row adapters) generates the same
 * tokens. Runs on lavapipe where there is no GPU; skips, saying why, without any adapter.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../backend.ts';
import { Llama } from '../llama.ts';
import { seededRandom } from '../random.ts';
import { defaultOptimizerOptions, Trainer, type TrainingExample } from '../trainer.ts';
import { tinyConfig } from '../test-models.test-util.ts';
import { Decoder } from '../decoder.ts';
import { PagedKvCache } from '../kv-cache.ts';
import { Scheduler } from '../../serve/scheduler.ts';
import { cpu, openTestGpu, maxRelativeError } from './test-gpu.test-util.ts';

const { gpu, skip } = await openTestGpu();

const config = tinyConfig();
const examples = (n: number, seed: number): TrainingExample[] => {
  const rng = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const len = 5 + rng.int(6);
    const seq = Int32Array.from({ length: len + 1 }, () => rng.int(config.vocabSize));
    return { ids: seq.subarray(0, len), targets: Int32Array.from(seq.subarray(1), (t, i) => (i < 2 ? -1 : t)) };
  });
};

/** The same random model on both backends. */
async function twins(be: Backend): Promise<[Llama, Llama]> {
  const ref = Llama.random(cpu(), config, 7);
  return [Llama.fromTensors(be, config, await ref.toTensors()), Llama.fromTensors(cpu(), config, await ref.toTensors())];
}

test('logits on the GPU equal the CPU reference’s, with and without a LoRA adapter', { skip }, async () => {
  const [g, c] = await twins(gpu as Backend);
  const ids = Int32Array.from({ length: 2 * 9 }, (_, i) => (i * 7 + 3) % config.vocabSize);
  // 1e-4 of the largest logit: f32 products summed in a different order (tiles vs rows)
  assert.ok(maxRelativeError(await g.logits(ids, 2, 9), await c.logits(ids, 2, 9)) < 1e-4);
  const weights = await c.readLora(c.createLora({ r: 4, alpha: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], baseModel: 't' }, 3));
  for (const layer of weights.layers) for (const p of Object.values(layer)) if (p) p.b.forEach((_, i, b) => (b[i] = Math.sin(i) * 0.1));
  assert.ok(maxRelativeError(await g.logits(ids, 2, 9, g.loadLora(weights)), await c.logits(ids, 2, 9, c.loadLora(weights))) < 1e-4);
});

test('LoRA training on the GPU lowers the loss the same way as on the CPU, step by step', { skip }, async () => {
  const [g, c] = await twins(gpu as Backend);
  const data = examples(4, 5);
  const run = async (m: Llama) => {
    const lora = m.createLora({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'up_proj', 'down_proj'], baseModel: 't' }, 2);
    const trainer = new Trainer(m, lora, { ...defaultOptimizerOptions, lr: 2e-2, warmupSteps: 2, totalSteps: 20 });
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) losses.push((await trainer.step(data)).loss);
    return losses;
  };
  const [onGpu, onCpu] = [await run(g), await run(c)];
  for (let i = 0; i < onGpu.length; i++) assert.ok(Math.abs(onGpu[i]! - onCpu[i]!) < 2e-3 * Math.max(1, onCpu[i]!), `step ${i}: GPU ${onGpu[i]} vs CPU ${onCpu[i]}`);
  assert.ok(onGpu.at(-1)! < onGpu[0]! - 0.1, `GPU loss ${onGpu[0]} → ${onGpu.at(-1)}`);
});

test('serving on the GPU (paged KV cache, continuous batching, per-row adapters) generates the CPU’s tokens', { skip }, async () => {
  const [g, c] = await twins(gpu as Backend);
  const weights = await c.readLora(c.createLora({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'down_proj'], baseModel: 't' }, 9));
  for (const layer of weights.layers) for (const p of Object.values(layer)) if (p) p.b.forEach((_, i, b) => (b[i] = Math.cos(i) * 0.2));
  const generateAll = async (m: Llama) => {
    const scheduler = new Scheduler(new Decoder(m, new PagedKvCache(m.backend, config, { numBlocks: 32, blockSize: 4 })), { maxSequences: 4, maxBatchTokens: 16 });
    const adapter = m.loadLora(weights);
    // greedy rows and seeded temperature / top-p rows in the same steps; tokens are picked on the device
    const sampling = [{}, { temperature: 0.8, topP: 0.9, seed: 3 }, { temperature: 1.2, seed: 5 }];
    return Promise.all([[1, 2, 3], [4, 5, 6, 7, 8], [9, 10]].map((prompt, i) => scheduler.generate({ adapter: i === 1 ? null : adapter, prompt, maxTokens: 6, ...sampling[i] }).then((r) => r.tokens)));
  };
  assert.deepEqual(await generateAll(g), await generateAll(c));
});
