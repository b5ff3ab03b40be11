import type { Llama, LoraAdapter } from './llama.ts';
import { seededRandom } from './random.ts';

export interface GenerateOptions {
  maxTokens: number;
  /** 0 = greedy. */
  temperature?: number;
  /** Nucleus sampling: keep the smallest set of tokens whose probability reaches this. */
  topP?: number;
  seed?: number;
  /** Token ids that end the output (not included in it), e.g. end-of-text. */
  stopTokens?: readonly number[];
}

/** Why generation ended (`cancelled`: the client went away; serving only). */
export type FinishReason = 'stop' | 'length' | 'cancelled';

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

/**
 * Generates up to `maxTokens` tokens after `prompt` (token ids), with or without an adapter.
 * Each step runs the whole sequence again (no KV cache): the reference the serving scheduler is
 * checked against, and enough for short outputs (evaluation); serving uses serve/scheduler.ts.
 *
 * @example
 * const { tokens } = await generate(model, lora, promptIds, { maxTokens: 32, stopTokens: [eos] });
 */
export async function generate(model: Llama, lora: LoraAdapter | null, prompt: readonly number[], o: GenerateOptions): Promise<{ tokens: number[]; finishReason: FinishReason }> {
  if (prompt.length === 0) throw new RangeError('the prompt is empty');
  const rng = seededRandom(o.seed ?? 0);
  const V = model.config.vocabSize;
  const seq = [...prompt];
  const out: number[] = [];
  const stop = new Set(o.stopTokens ?? []);
  while (out.length < o.maxTokens && seq.length < model.config.maxPositions) {
    const logits = await model.logits(Int32Array.from(seq), 1, seq.length, lora);
    const next = sampleToken(logits.subarray((seq.length - 1) * V, seq.length * V), o, rng.next);
    if (stop.has(next)) return { tokens: out, finishReason: 'stop' };
    out.push(next);
    seq.push(next);
  }
  return { tokens: out, finishReason: 'length' };
}
