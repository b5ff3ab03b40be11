/**
 * What the decode benchmarks share: a model's random weights by its config, and the built-in
 * engine's greedy decode rate over a batch of sequences.
 */
import type { ModelConfig } from '../src/model/config.ts';
import { Decoder, type DecodeRow } from '../src/model/decoder.ts';
import { PagedKvCache } from '../src/model/kv-cache.ts';
import { Llama, type LoraAdapter } from '../src/model/llama.ts';
import type { TensorMap } from '../src/model/tensor-map.ts';
import { generator } from './_random.ts';

/**
 * Random weights of `config` (normal / √fan-in, biases a tenth of that, norms one), the same for a seed.
 *
 * @example
 * const weights = randomModelWeights(config, 1);
 */
export function randomModelWeights(config: ModelConfig, seed: number): TensorMap {
  const rand = generator(seed);
  const normal = () => {
    const u = Math.max(rand(), 1e-12), v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const out: TensorMap = new Map();
  for (const [name, shape] of Llama.weightShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length === 2 ? shape[1]! : 1;
    const data = new Float32Array(n);
    if (name.endsWith('norm.weight')) data.fill(1);
    else for (let i = 0; i < n; i++) data[i] = normal() / Math.sqrt(fanIn) * (name.endsWith('.bias') ? 0.1 : 1);
    out.set(name, { shape, data });
  }
  return out;
}

/**
 * Tokens/s of `tokens` greedy decode steps of one sequence per entry of `adapters` (its adapter,
 * or null), after an 8-token prompt each, prefilled first and not timed.
 *
 * @example
 * const rate = await decodeTokensPerSecond(model, [null], 32);
 */
export async function decodeTokensPerSecond(model: Llama, adapters: ReadonlyArray<LoraAdapter | null>, tokens: number): Promise<number> {
  const n = adapters.length;
  const cache = new PagedKvCache(model.backend, model.config, { numBlocks: n * Math.ceil((8 + tokens + 16) / 16) + 4, blockSize: 16 });
  try {
    const decoder = new Decoder(model, cache);
    const rand = generator(n);
    const sample = { temperature: 0, topP: 1, uniform: 0 };
    const prompts = adapters.map((adapter, i) => Array.from({ length: 8 }, () => Math.floor(rand() * model.config.vocabSize)).map((token, position) => ({ sequence: `s${i}`, token, position, adapter })));
    let next = await decoder.step(prompts.flatMap((p) => p.map((r, j) => (j === p.length - 1 ? { ...r, sample } : r))));
    const t0 = performance.now();
    for (let step = 0; step < tokens; step++) {
      const rows: DecodeRow[] = adapters.map((adapter, i) => ({ sequence: `s${i}`, token: next[i]!, position: 8 + step, adapter, sample }));
      next = await decoder.step(rows);
    }
    return (n * tokens) / ((performance.now() - t0) / 1000);
  } finally {
    cache.dispose();
  }
}
