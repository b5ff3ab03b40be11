import type { Hex } from 'viem';
import { createGradientSketch } from '../model/gradient-sketch.ts';
import type { Llama, LoraAdapter } from '../model/llama.ts';
import type { Trace } from './trace.ts';

/** The trace was recorded with a different adapter layout than the one given. */
export class SketchMismatchError extends Error {
  override name = 'SketchMismatchError';
}

/**
 * The gradient of an output's mean token loss (given its prompt) with respect to the adapter's
 * LoRA matrices, projected with the trace's sketch (same seed, dimension and parameter order as
 * the training examples' sketches). The adapter must have been loaded trainable (with gradients).
 *
 * @example
 * const s = await outputGradientSketch(model, lora, trace, promptIds, outputIds);
 */
export async function outputGradientSketch(model: Llama, lora: LoraAdapter, trace: Trace, prompt: readonly number[], output: readonly number[]): Promise<Float32Array> {
  const params = model.loraParameters(lora);
  const names = params.map((p) => p.name);
  if (names.join() !== trace.sketch.parameterNames.join()) throw new SketchMismatchError('the adapter’s tensors are not those the trace was sketched over');
  const seq = [...prompt, ...output];
  const ids = Int32Array.from(seq.slice(0, -1));
  // a loss on each output token: position i predicts seq[i + 1]
  const targets = Int32Array.from(seq.slice(1), (t, i) => (i + 1 >= prompt.length ? t : -1));
  for (const p of params) model.backend.fill(p.grad, 0);
  await model.lossAndGradients(ids, targets, 1, ids.length, { lora });
  const pieces = await Promise.all(params.map((p) => model.backend.read(p.grad)));
  const sketch = createGradientSketch(trace.sketch.inputLength, trace.sketch.dimension, trace.sketch.seed);
  const out = new Float32Array(trace.sketch.dimension);
  sketch.project(pieces, out);
  return out;
}

/**
 * Gradient influence of each contribution on an output: the cosine similarity of the output's
 * gradient sketch with each training example's (TracIn summed over the steps that used it),
 * positive part only (an example whose gradient points away did not push towards this output),
 * summed over a contribution's examples.
 *
 * @example
 * const scores = gradientScores(trace, await outputGradientSketch(model, lora, trace, prompt, output));
 */
export function gradientScores(trace: Trace, output: Float32Array): Map<Hex, number> {
  const D = trace.sketch.dimension;
  let on = 0;
  for (let i = 0; i < D; i++) on += output[i]! * output[i]!;
  const scores = new Map<Hex, number>();
  if (on === 0) return scores;
  trace.examples.forEach((e, k) => {
    if (e.heldOut) return;
    let dot = 0, en = 0;
    const o = k * D;
    for (let i = 0; i < D; i++) {
      const x = trace.sketches[o + i]!;
      dot += x * output[i]!;
      en += x * x;
    }
    if (en === 0 || dot <= 0) return;
    const cos = dot / Math.sqrt(en * on);
    scores.set(e.contributionId, (scores.get(e.contributionId) ?? 0) + cos);
  });
  return scores;
}
