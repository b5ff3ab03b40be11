import { Decoder } from './decoder.ts';
import { PagedKvCache } from './kv-cache.ts';
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
 * Generates up to `maxTokens` tokens after `prompt` (token ids), with or without an adapter: the
 * prompt in one step, then one token per step, through the serving decoder with a KV cache of its
 * own for this one sequence (each step costs one row, not the whole sequence again). The same
 * forward pass as serving, without the batching: for evaluation and attribution, and the
 * one-request-alone reference the scheduler is checked against (serve/scheduler.ts).
 *
 * @example
 * const { tokens } = await generate(model, lora, promptIds, { maxTokens: 32, stopTokens: [eos] });
 */
export async function generate(model: Llama, lora: LoraAdapter | null, prompt: readonly number[], o: GenerateOptions): Promise<{ tokens: number[]; finishReason: FinishReason }> {
  if (prompt.length === 0) throw new RangeError('the prompt is empty');
  const { maxPositions } = model.config;
  const out: number[] = [];
  if (o.maxTokens <= 0 || prompt.length >= maxPositions) return { tokens: out, finishReason: 'length' };
  const rng = seededRandom(o.seed ?? 0);
  const { temperature = 0, topP = 1 } = o;
  const stop = new Set(o.stopTokens ?? []);
  const blockSize = 16;
  const cache = new PagedKvCache(model.backend, model.config, { numBlocks: Math.ceil(Math.min(prompt.length + o.maxTokens, maxPositions) / blockSize), blockSize });
  const decoder = new Decoder(model, cache);
  try {
    // the first step runs the prompt, each later one the token just chosen
    let rows = prompt.map((token, position) => ({ sequence: 'generate', token, position, adapter: lora }));
    for (let length = prompt.length; ; ) {
      const sample = { temperature, topP, uniform: temperature > 0 ? rng.next() : 0 }; // drawn only when sampling, as sampleToken does
      const [next] = await decoder.step(rows.map((r, i) => (i === rows.length - 1 ? { ...r, sample } : r)));
      if (stop.has(next!)) return { tokens: out, finishReason: 'stop' };
      out.push(next!);
      if (out.length >= o.maxTokens || ++length >= maxPositions) return { tokens: out, finishReason: 'length' };
      rows = [{ sequence: 'generate', token: next!, position: length - 1, adapter: lora }];
    }
  } finally {
    cache.dispose();
  }
}
