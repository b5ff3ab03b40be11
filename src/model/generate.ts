import type { Llama, LoraAdapter } from './llama.ts';
import { seededRandom } from './random.ts';
import { sampleToken } from './sample-token.ts';

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
