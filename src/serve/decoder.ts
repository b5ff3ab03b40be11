import type { Tensor } from '../model/backend.ts';
import type { LoraTarget } from '../model/config.ts';
import type { Llama, LoraAdapter } from '../model/llama.ts';
import type { SampleParams } from '../model/sample-token.ts';
import type { PagedKvCache } from './kv-cache.ts';

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
    const ids = t(be.upload(Int32Array.from(rows, (r) => r.token)));
    const positions = t(be.upload(Int32Array.from(rows, (r) => r.position)));
    const slots = t(be.upload(Int32Array.from(rows, (r) => this.cache.slot(r.sequence, r.position))));
    const lengths = t(be.upload(Int32Array.from(rows, (r) => r.position + 1)));
    const blockTables = t(be.upload(tables));
    const x = z(T * d), h = z(T * d), rstd = z(T), q = z(T * qd), k = z(T * kvd), v = z(T * kvd), att = z(T * qd);
    const g = z(T * f), u = z(T * f), act = z(T * f);

    const linear = (y: Tensor, input: Tensor, W: Tensor, bias: Tensor | null, l: number, target: LoraTarget, inDim: number, outDim: number, accumulate: boolean) => {
      be.matmul(y, input, W, T, inDim, outDim, 'nt', accumulate);
      if (bias) be.addBias(y, bias, T, outDim);
      const adapters = rows.map((r) => {
        const pair = r.adapter?.layers[l]?.[target];
        return pair && r.adapter ? { a: pair.a, b: pair.b, r: r.adapter.config.r, scale: r.adapter.scale } : null;
      });
      if (adapters.some((a) => a)) be.loraRows(y, input, adapters, inDim, outDim);
    };

    be.embed(x, ids, w.embed, T, d);
    for (let l = 0; l < c.numLayers; l++) {
      const lw = w.layers[l]!;
      be.rmsnorm(h, rstd, x, lw.inputNorm, T, d, c.rmsNormEps);
      linear(q, h, lw.q, lw.qBias, l, 'q_proj', d, qd, false);
      linear(k, h, lw.k, lw.kBias, l, 'k_proj', d, kvd, false);
      linear(v, h, lw.v, lw.vBias, l, 'v_proj', d, kvd, false);
      be.ropeRows(q, positions, T, c.numHeads, c.headDim, c.ropeTheta);
      be.ropeRows(k, positions, T, c.numKvHeads, c.headDim, c.ropeTheta);
      be.kvWrite(this.cache.k[l]!, this.cache.v[l]!, k, v, slots, T, kvd);
      be.pagedAttention(att, q, this.cache.k[l]!, this.cache.v[l]!, blockTables, lengths, T, c.numHeads, c.numKvHeads, c.headDim, this.cache.blockSize, maxBlocks);
      linear(x, att, lw.o, null, l, 'o_proj', qd, d, true); // x += o_proj(attention)
      be.rmsnorm(h, rstd, x, lw.postNorm, T, d, c.rmsNormEps);
      linear(g, h, lw.gate, null, l, 'gate_proj', d, f, false);
      linear(u, h, lw.up, null, l, 'up_proj', d, f, false);
      be.swiglu(act, g, u, T * f);
      linear(x, act, lw.down, null, l, 'down_proj', f, d, true); // x += down(…)
    }
    // the output head only where a token is wanted (a prompt chunk's earlier rows need none)
    const n = outputs.length;
    if (n === 0) {
      for (const o of owned) be.free(o);
      return none;
    }
    let last = x;
    if (n < T) be.embed((last = z(n * d)), t(be.upload(Int32Array.from(outputs))), x, n, d); // gathers rows
    const hf = z(n * d), logits = z(n * c.vocabSize);
    be.rmsnorm(hf, z(n), last, w.finalNorm, n, d, c.rmsNormEps);
    be.matmul(logits, hf, w.lmHead, n, d, c.vocabSize, 'nt');
    try {
      return await finish(logits, owned);
    } finally {
      for (const o of owned) be.free(o);
    }
  }
}
