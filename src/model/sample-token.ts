/** How one row's next token is picked (what `Backend.sample` takes per row). */
export interface SampleParams {
  /** 0 (or less) = greedy: the argmax, the first one on ties. */
  temperature: number;
  /** Nucleus: keep the smallest set of most probable tokens whose probability reaches this (1 = all). */
  topP: number;
  /** The draw in [0, 1) that picks within the nucleus (ignored when greedy). */
  uniform: number;
}

/**
 * Picks the next token from logits: argmax at temperature 0, else a seeded draw from the
 * temperature-scaled softmax restricted to the top-p nucleus.
 *
 * @example
 * const next = sampleToken(row, { temperature: 0.7, topP: 0.9 }, rng);
 */
export function sampleToken(logits: Float32Array, o: { temperature?: number; topP?: number }, next: () => number): number {
  const temperature = o.temperature ?? 0;
  let best = 0;
  for (let v = 1; v < logits.length; v++) if (logits[v]! > logits[best]!) best = v;
  if (temperature <= 0) return best;
  const max = logits[best]!;
  const probs = Float64Array.from(logits, (x) => Math.exp((x - max) / temperature));
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
  const total = probs.reduce((a, b) => a + b, 0);
  const topP = o.topP ?? 1;
  let kept = 0, cut = order.length;
  for (let i = 0; i < order.length; i++) {
    kept += probs[order[i]!]! / total;
    if (kept >= topP) {
      cut = i + 1;
      break;
    }
  }
  let r = next() * order.slice(0, cut).reduce((s, v) => s + probs[v]!, 0);
  for (let i = 0; i < cut; i++) {
    r -= probs[order[i]!]!;
    if (r <= 0) return order[i]!;
  }
  return order[cut - 1]!;
}
