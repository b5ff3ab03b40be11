/**
 * What the decode benchmarks share: a model's random weights by its config, and the built-in
 * engine's greedy decode rate over a batch of sequences.
 */
import type { ModelConfig } from '../src/model/config.ts';
import { Decoder, type DecodeRow } from '../src/model/decoder.ts';
import { PagedKvCache } from '../src/model/kv-cache.ts';
import { Llama, type LoraAdapter } from '../src/model/llama.ts';
import type { TensorMap } from '../src/model/tensor-map.ts';
import { median } from '../src/attribution/evaluation/metrics.ts';
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
 * A batch of greedy sequences, one per entry of `adapters` (its adapter, or null), each after an
 * 8-token prompt prefilled on start (not timed); `step()` decodes one token of every sequence and
 * says how long it took. Room for `tokens` steps.
 */
class DecodeRun {
  private next: Int32Array = new Int32Array(0);
  private steps = 0;
  private readonly decoder: Decoder;
  private readonly sample = { temperature: 0, topP: 1, uniform: 0 };
  private readonly adapters: ReadonlyArray<LoraAdapter | null>;
  private readonly cache: PagedKvCache;
  private constructor(adapters: ReadonlyArray<LoraAdapter | null>, cache: PagedKvCache, model: Llama) {
    this.adapters = adapters;
    this.cache = cache;
    this.decoder = new Decoder(model, cache);
  }

  static async start(model: Llama, adapters: ReadonlyArray<LoraAdapter | null>, tokens: number): Promise<DecodeRun> {
    const n = adapters.length;
    const run = new DecodeRun(adapters, new PagedKvCache(model.backend, model.config, { numBlocks: n * Math.ceil((8 + tokens + 16) / 16) + 4, blockSize: 16 }), model);
    try {
      const rand = generator(n);
      const prompts = adapters.map((adapter, i) => Array.from({ length: 8 }, () => Math.floor(rand() * model.config.vocabSize)).map((token, position) => ({ sequence: `s${i}`, token, position, adapter })));
      run.next = await run.decoder.step(prompts.flatMap((p) => p.map((r, j) => (j === p.length - 1 ? { ...r, sample: run.sample } : r))));
      return run;
    } catch (e) {
      run.dispose();
      throw e;
    }
  }

  /** One token of every sequence; its milliseconds. */
  async step(): Promise<number> {
    const t0 = performance.now();
    const rows: DecodeRow[] = this.adapters.map((adapter, i) => ({ sequence: `s${i}`, token: this.next[i]!, position: 8 + this.steps, adapter, sample: this.sample }));
    this.next = await this.decoder.step(rows);
    this.steps++;
    return performance.now() - t0;
  }

  dispose(): void {
    this.cache.dispose();
  }
}

/**
 * Tokens/s of `tokens` greedy decode steps of one sequence per entry of `adapters` (its adapter,
 * or null), after an 8-token prompt each, prefilled first and not timed.
 *
 * @example
 * const rate = await decodeTokensPerSecond(model, [null], 32);
 */
export async function decodeTokensPerSecond(model: Llama, adapters: ReadonlyArray<LoraAdapter | null>, tokens: number): Promise<number> {
  const run = await DecodeRun.start(model, adapters, tokens);
  try {
    let ms = 0;
    for (let step = 0; step < tokens; step++) ms += await run.step();
    return (adapters.length * tokens) / (ms / 1000);
  } finally {
    run.dispose();
  }
}

/**
 * Two batches decoded in alternation, a step of one then a step of the other (which goes first
 * flips every pair), `tokens` steps each: on a shared machine whose speed drifts, the two steps of
 * a pair see the same drift. Returns each batch's tokens/s (its steps' total time) and the median of
 * the pairs' ratios of b's rate to a's.
 *
 * @example
 * const { a, b, ratio } = await decodePaired(model, Array(16).fill(one), sixteen, 64);
 */
export async function decodePaired(model: Llama, a: ReadonlyArray<LoraAdapter | null>, b: ReadonlyArray<LoraAdapter | null>, tokens: number): Promise<{ a: number; b: number; ratio: number }> {
  const runA = await DecodeRun.start(model, a, tokens);
  try {
    const runB = await DecodeRun.start(model, b, tokens);
    try {
      let msA = 0, msB = 0;
      const ratios: number[] = [];
      for (let step = 0; step < tokens; step++) {
        let ta: number, tb: number;
        if (step % 2 === 0) ta = await runA.step(), tb = await runB.step();
        else tb = await runB.step(), ta = await runA.step();
        msA += ta, msB += tb;
        ratios.push((b.length / tb) / (a.length / ta));
      }
      return { a: (a.length * tokens) / (msA / 1000), b: (b.length * tokens) / (msB / 1000), ratio: median(ratios) };
    } finally {
      runB.dispose();
    }
  } finally {
    runA.dispose();
  }
}
