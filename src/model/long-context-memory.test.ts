/**
 * Training memory at long context (decision 0027): a LoRA training pass (`lossAndGradients`)
 * keeps per layer only each attention row's log-sum-exp, so the activations grow linearly in S.
 * The S×S probabilities the old design kept for every layer would alone exceed the bound here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelConfig } from './config.ts';
import { createCpuBackend } from './cpu/cpu-backend.ts';
import { countFloats } from './cpu/float-accounting.ts';
import { matmul } from './cpu/matmul.ts';
import { Llama } from './llama.ts';
import { seededRandom } from './random.ts';
import { tinyConfig } from './test-models.test-util.ts';

const config: ModelConfig = tinyConfig({ maxPositions: 1024 });
/** The bound on a pass's activations at S = 1,024: 8 MiB (2 Mi floats). */
const BOUND_FLOATS = 2 * 2 ** 20;

/** Peak floats the CPU backend held during one LoRA training pass over one sequence of S tokens, beyond the weights and adapter. */
async function activationFloats(S: number): Promise<{ floats: number; loss: number; gradNorm: number }> {
  const floats = countFloats();
  const be = createCpuBackend({ matmul, allocate: floats.allocate, release: floats.release });
  const model = Llama.random(be, config, 1);
  const lora = model.createLora({ r: 4, alpha: 8, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], baseModel: 'test' }, 2);
  const params = model.loraParameters(lora);
  const rng = seededRandom(3);
  for (const p of params) be.write(p.value, Float32Array.from({ length: p.value.length }, () => rng.normal() * 0.1));
  const held = floats.live;
  floats.resetPeak();
  const ids = Int32Array.from({ length: S }, () => rng.int(config.vocabSize));
  const targets = Int32Array.from(ids, (_, i) => ids[(i + 1) % S]!);
  const { lossSum, tokens } = await model.lossAndGradients(ids, targets, 1, S, { lora });
  const gradNorm = Math.sqrt(await be.sumOfSquares(params.map((p) => p.grad)));
  const used = floats.peak - held;
  await be.dispose();
  return { floats: used, loss: lossSum / tokens, gradNorm };
}

test('LoRA training at S = 1,024 keeps activations under 8 MiB, where S×S probabilities per layer alone need 32 MiB', async (t) => {
  const S = 1024, { numLayers: L, numHeads: nH } = config;
  const oldProbs = L * nH * S * S; // the old design's [B, nH, S, S] per layer, B = 1
  assert.ok(oldProbs > BOUND_FLOATS, 'the bound must be one the old design would break');
  const long = await activationFloats(S);
  t.diagnostic(`activations ${((long.floats * 4) / 2 ** 20).toFixed(2)} MiB; S×S probabilities would be ${((oldProbs * 4) / 2 ** 20).toFixed(0)} MiB`);
  assert.ok(long.floats < BOUND_FLOATS, `activations took ${long.floats} floats, bound ${BOUND_FLOATS}`);
  assert.ok(Number.isFinite(long.loss) && long.loss > 0, `loss ${long.loss}`);
  assert.ok(Number.isFinite(long.gradNorm) && long.gradNorm > 0, `gradient norm ${long.gradNorm}`);
  // linear in S: four times the context, about four times the activations (S² terms would give ~12× here)
  const short = await activationFloats(S / 4);
  const ratio = long.floats / short.floats;
  t.diagnostic(`S = 256: ${((short.floats * 4) / 2 ** 20).toFixed(2)} MiB; ratio ${ratio.toFixed(2)}`);
  assert.ok(ratio < 5, `activations grew ${ratio.toFixed(2)}× for 4× the context`);
});
