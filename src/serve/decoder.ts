import type { Tensor } from '../model/backend.ts';
import type { LoraTarget } from '../model/config.ts';
import type { Llama, LoraAdapter } from '../model/llama.ts';
import type { PagedKvCache } from './kv-cache.ts';

/** One token to run: its sequence, its position in it, and the adapter of that sequence (or none). */
export interface DecodeRow {
  sequence: string;
  token: number;
  position: number;
  adapter: LoraAdapter | null;
}

/**
 * The serving forward pass: one step over rows that may come from many sequences, at different
 * positions, each with its own adapter. The base model's products run once for the whole batch;
 * each row's low-rank update is applied from its own adapter (BGMV), never merged into the base
 * weights; keys and values go to the paged cache and each row attends over its own sequence. A
 * prompt is a run of rows of one sequence (prefill), a decode step one row per sequence; both mix
 * freely in one step (continuous batching).
 *
 * @example
 * const decoder = new Decoder(model, cache);
 * const logits = await decoder.step([{ sequence: 'a', token: 5, position: 0, adapter }]);
 */
export class Decoder {
  readonly model: Llama;
  readonly cache: PagedKvCache;

  constructor(model: Llama, cache: PagedKvCache) {
    this.model = model;
    this.cache = cache;
  }

  /** Next-token logits for every row ([rows, vocab]). Rows of one sequence must be in position order. */
  async step(rows: readonly DecodeRow[]): Promise<Float32Array> {
    const be = this.model.backend, c = this.model.config, w = this.model.weights;
    const T = rows.length;
    if (T === 0) return new Float32Array(0);
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
    const g = z(T * f), u = z(T * f), act = z(T * f), hf = z(T * d), logits = z(T * c.vocabSize);

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
    be.rmsnorm(hf, rstd, x, w.finalNorm, T, d, c.rmsNormEps);
    be.matmul(logits, hf, w.lmHead, T, d, c.vocabSize, 'nt');
    const out = await be.read(logits);
    for (const o of owned) be.free(o);
    return out;
  }
}
