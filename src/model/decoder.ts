import type { Tensor } from './backend.ts';
import type { PagedKvCache } from './kv-cache.ts';
import type { Llama, LoraAdapter } from './llama.ts';
import type { SampleParams } from './sample-token.ts';
import { blockForward, embedTokens, optionalActivations, outputHead, type BlockActivations, type PagedAttention, type RowLora } from './transformer-block.ts';

/** One token to run: its sequence, its position in it, and the adapter of that sequence (or none). */
export interface DecodeRow {
  sequence: string;
  token: number;
  position: number;
  adapter: LoraAdapter | null;
  /** Pick the next token after this row (the last row of a sequence in this step), this way. */
  sample?: SampleParams;
}

/**
 * The serving forward pass: one step over rows that may come from many sequences, at different
 * positions, each with its own adapter. The base model's products run once for the whole batch;
 * each row's low-rank update is applied from its own adapter (BGMV), never merged into the base
 * weights; keys and values go to the paged cache and each row attends over its own sequence. A
 * prompt is a run of rows of one sequence (prefill), a decode step one row per sequence; both mix
 * freely in one step (continuous batching). Only rows that ask for a token go through the output
 * head, and the token is picked on the backend: a step reads back one id per such row.
 *
 * Every layer is the model's one transformer block (`transformer-block.ts`) with paged attention
 * and per-row LoRA; the scheduler (serve/scheduler.ts) decides the rows, `generate` runs one
 * sequence alone.
 *
 * @example
 * const decoder = new Decoder(model, cache);
 * const [next] = await decoder.step([{ sequence: 'a', token: 5, position: 0, adapter, sample: { temperature: 0, topP: 1, uniform: 0 } }]);
 */
export class Decoder {
  readonly model: Llama;
  readonly cache: PagedKvCache;

  constructor(model: Llama, cache: PagedKvCache) {
    this.model = model;
    this.cache = cache;
  }

  /** The next token of every row that has `sample`, in row order. Rows of one sequence must be in position order. */
  async step(rows: readonly DecodeRow[]): Promise<Int32Array> {
    const picked = rows.flatMap((r, i) => (r.sample ? [i] : []));
    const be = this.model.backend, V = this.model.config.vocabSize;
    return this.run(rows, picked, new Int32Array(0), (logits, owned) => {
      const ids = be.upload(new Int32Array(picked.length));
      owned.push(ids);
      be.sample(ids, logits, picked.length, V, picked.map((i) => rows[i]!.sample!));
      return be.read(ids).then((v) => Int32Array.from(v));
    });
  }

  /** Next-token logits of every row ([rows, vocab]): what `step` samples from (tests, diagnostics). */
  logits(rows: readonly DecodeRow[]): Promise<Float32Array> {
    return this.run(rows, rows.map((_, i) => i), new Float32Array(0), (logits) => this.model.backend.read(logits));
  }

  /**
   * The forward pass over `rows`; the output head runs on the rows in `outputs` only, then `finish`
   * reads what it needs from their logits (`none` when there are no such rows).
   */
  private async run<R>(rows: readonly DecodeRow[], outputs: readonly number[], none: R, finish: (logits: Tensor, owned: Tensor[]) => Promise<R>): Promise<R> {
    const be = this.model.backend, c = this.model.config, w = this.model.weights;
    const T = rows.length;
    if (T === 0) return none;
    const d = c.hiddenSize, f = c.intermediateSize, qd = c.numHeads * c.headDim, kvd = c.numKvHeads * c.headDim;
    for (const r of rows) {
      if (r.position >= c.maxPositions) throw new RangeError(`position ${r.position} exceeds the model's ${c.maxPositions}`);
      this.cache.reserve(r.sequence, r.position + 1);
    }
    const maxBlocks = Math.max(...rows.map((r) => this.cache.blockTable(r.sequence).length));
    const tables = new Int32Array(T * maxBlocks);
    rows.forEach((r, i) => tables.set(this.cache.blockTable(r.sequence), i * maxBlocks));
    const owned: Tensor[] = [];
    const t = <X extends Tensor>(x: X) => (owned.push(x), x);
    const z = (n: number) => t(be.zeros(n));
    try {
      const ids = t(be.upload(Int32Array.from(rows, (r) => r.token)));
      const positions = t(be.upload(Int32Array.from(rows, (r) => r.position)));
      const slots = t(be.upload(Int32Array.from(rows, (r) => this.cache.slot(r.sequence, r.position))));
      const lengths = t(be.upload(Int32Array.from(rows, (r) => r.position + 1)));
      const blockTables = t(be.upload(tables));
      const attention: PagedAttention = { kind: 'paged', cache: this.cache, positions, slots, blockTables, lengths, maxBlocks };
      const lora: RowLora | null = rows.some((r) => r.adapter) ? { kind: 'rows', adapters: rows.map((r) => r.adapter) } : null;
      // one set of activations for every layer: the residual stream x [T, d] is updated in place
      const x = z(T * d), h = z(T * d), rstd = z(T);
      const a: BlockActivations = {
        input: x, h1: h, rstd1: rstd, q: z(T * qd), k: z(T * kvd), v: z(T * kvd), att: z(T * qd),
        x2: z(T * d), h2: h, rstd2: rstd, gate: z(T * f), up: z(T * f), act: z(T * f), output: x,
        ...optionalActivations(c, T, z),
      };

      embedTokens(be, c, w, x, ids, T); // x [T, d]
      for (let l = 0; l < c.numLayers; l++) blockForward(be, c, w.layers[l]!, l, a, T, attention, lora);
      // the output head only where a token is wanted (a prompt chunk's earlier rows need none)
      const n = outputs.length;
      if (n === 0) return none;
      let last = x;
      if (n < T) be.embed((last = z(n * d)), t(be.upload(Int32Array.from(outputs))), x, n, d); // gathers rows: last [n, d]
      const logits = z(n * c.vocabSize);
      outputHead(be, c, w, last, z(n * d), z(n), logits, n); // logits [n, V]
      return await finish(logits, owned);
    } finally {
      for (const o of owned) be.free(o);
    }
  }
}
