import type { AttributionModel, InfluenceFeatures } from './attribution-model.ts';
import { cosineScores, dataInfScores, dotScores } from './influence.ts';

/**
 * The gradient of an output's mean token loss (given its prompt) with respect to the adapter's
 * LoRA matrices, projected as the trace's training examples were (same blocked sketch), and the
 * fine-tuned model's surprisal of each output token (nats) from the same pass.
 *
 * @example
 * const { gradient, surprisal } = await outputGradient(m, features, promptIds, outputIds);
 */
export async function outputGradient(m: AttributionModel, features: InfluenceFeatures, prompt: readonly number[], output: readonly number[], mask?: Uint8Array): Promise<{ gradient: Float32Array; surprisal: Float32Array }> {
  const params = m.model.loraParameters(m.lora);
  const seq = [...prompt, ...output];
  const ids = Int32Array.from(seq.slice(0, -1));
  // a loss on each output token: position i predicts seq[i + 1]
  const targets = Int32Array.from(seq.slice(1), (t, i) => (i + 1 >= prompt.length && (!mask || mask[i + 1 - prompt.length]) ? t : -1));
  for (const p of params) m.model.backend.fill(p.grad, 0);
  const r = await m.model.lossAndGradients(ids, targets, 1, ids.length, { lora: m.lora });
  const gradient = new Float32Array(features.dimension);
  features.sketch.project(await Promise.all(params.map((p) => m.model.backend.read(p.grad))), gradient);
  return { gradient, surprisal: r.tokenLosses.slice(prompt.length - 1) };
}

/**
 * Every training example's influence on an output under the features' method (positive: training
 * on it lowered the output's loss): `fisher` qᵀψᵢ, `relatif` qᵀψᵢ / √(gᵢᵀψᵢ), `datainf`
 * DataInf's closed form, `tracin-cosine` cos(q, gᵢ). Held-out examples score 0. Also the
 * fine-tuned model's surprisal of each output token (from the gradient's forward pass).
 *
 * @example
 * const { scores } = await influenceScores(m, await m.influence('relatif', 1), promptIds, outputIds);
 */
export async function influenceScores(m: AttributionModel, features: InfluenceFeatures, prompt: readonly number[], output: readonly number[], mask?: Uint8Array): Promise<{ scores: Float64Array; surprisal: Float32Array }> {
  const { gradient: q, surprisal } = await outputGradient(m, features, prompt, output, mask);
  const n = m.trace.examples.length, D = features.dimension;
  const scores = features.method === 'datainf' ? dataInfScores(m.trace.gradients, n, D, features.blocks, features.lambdas, q)
    : features.method === 'tracin-cosine' ? cosineScores(m.trace.gradients, n, D, q)
    : dotScores(features.rows, n, D, q);
  return { scores, surprisal };
}

/**
 * The base model's surprisal of each output token given the prompt (nats): how unpredictable it
 * was without the fine-tuning.
 *
 * @example
 * const base = await outputSurprisal(m, promptIds, outputIds);
 */
export async function outputSurprisal(m: AttributionModel, prompt: readonly number[], output: readonly number[]): Promise<Float32Array> {
  const seq = [...prompt, ...output];
  const r = await m.model.loss(Int32Array.from(seq.slice(0, -1)), Int32Array.from(seq.slice(1)), 1, seq.length - 1, null);
  return r.tokenLosses.slice(prompt.length - 1);
}

/**
 * The null baseline of a set of influence scores: most training examples did not shape a given
 * output, so the median is where "no influence" sits and the median absolute deviation (× 1.4826,
 * a standard deviation for normal noise) its spread. Robust to the few examples that did.
 *
 * @example
 * const { median, scale } = nullBaseline([0.1, -0.2, 0.05, 3.2]);
 */
export function nullBaseline(scores: readonly number[]): { median: number; scale: number } {
  if (scores.length === 0) return { median: 0, scale: 0 };
  const sorted = Float64Array.from(scores).sort();
  const med = (xs: Float64Array) => (xs.length % 2 ? xs[(xs.length - 1) / 2]! : (xs[xs.length / 2 - 1]! + xs[xs.length / 2]!) / 2);
  const median = med(sorted);
  const deviations = Float64Array.from(sorted, (x) => Math.abs(x - median)).sort();
  return { median, scale: 1.4826 * med(deviations) };
}
