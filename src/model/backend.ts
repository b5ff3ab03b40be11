/**
 * The engine's compute interface. The model (llama.ts) expresses its forward and backward passes
 * only through these operations on opaque tensors, so a backend may keep tensors wherever it
 * computes (typed arrays for the CPU backend, GPU buffers for a GPU backend).
 *
 * Operations are enqueued in call order and may run asynchronously; only `read` waits for them.
 * Shapes are row-major; `T` is the number of token rows (batch × sequence), `B`/`S` the batch size
 * and sequence length, `nH`/`nKV`/`hd` the query heads, key-value heads and head width.
 */
import type { QuantType } from './ggml-quants.ts';
import type { Rotary } from './rotary.ts';
import type { SampleParams } from './sample-token.ts';
import type { HalfMatrix } from './half-matrix.ts';

export type { QuantType } from './ggml-quants.ts';

export interface Tensor {
  /** Number of elements. */
  readonly length: number;
  /** A quantised type for a weight matrix kept as ggml blocks (`uploadQuantized`). */
  readonly dtype: 'f32' | 'i32' | 'f16' | QuantType;
}

/**
 * A weight matrix as ggml blocks (`ggml-quants.ts`): `rows` rows of `cols` elements (whole blocks),
 * row-major — a GGUF tensor of ggml dims [cols, rows], e.g. a Linear weight [out, in] has rows = out.
 */
export interface QuantizedMatrix {
  type: QuantType;
  rows: number;
  cols: number;
  bytes: Uint8Array;
}

/**
 * One row's adapter factors for `loraRows`: A [r, in], B [out, r], its rank and scale, and for a
 * served adapter the factors as this backend's `loraRows` reads them ({@link Backend.loraServingFactors}).
 */
export interface RowAdapter {
  a: Tensor;
  b: Tensor;
  r: number;
  scale: number;
  serving?: Tensor | null;
}

/** How `matmul` reads its operands: `nt` multiplies by B transposed (B stored as [n, k]). */
export type MatmulLayout = 'nn' | 'nt' | 'tn';

export interface Backend {
  readonly name: string;

  /** A new f32 tensor of `length` zeros. */
  zeros(length: number): Tensor;
  /** A new tensor holding a copy of `data`. */
  upload(data: Float32Array | Int32Array): Tensor;
  /**
   * A weight matrix holding a copy of `q`'s blocks (the CPU backend keeps them quantised; a backend
   * may dequantise). Its only uses are as `matmul`'s B — `nt` (C = A·Wᵀ, forward) or `nn`/`tn`
   * (C = A·W, the backward pass through a frozen weight) — `read` (dequantised) and `free`; any other
   * operation on it throws.
   */
  uploadQuantized(q: QuantizedMatrix): Tensor;
  /** Overwrites `t` (from element `offset`) with `data`. */
  write(t: Tensor, data: Float32Array | Int32Array, offset?: number): void;
  /** The tensor's contents once every enqueued operation has run. */
  read(t: Tensor): Promise<Float32Array>;
  /** Releases a tensor's memory; it must not be used again. */
  free(t: Tensor): void;
  /** Releases everything the backend holds (worker threads, devices). */
  dispose(): Promise<void>;

  /** `t := 0`. */
  fill(t: Tensor, value: number): void;
  /** `dst[dstOffset..] := src[srcOffset..srcOffset+length]`. */
  copy(dst: Tensor, src: Tensor, length?: number, dstOffset?: number, srcOffset?: number): void;
  /** `y += alpha · x` over the first `n` elements (default: all of x). */
  axpy(y: Tensor, x: Tensor, alpha: number, n?: number): void;
  /** `t *= alpha`. */
  scale(t: Tensor, alpha: number): void;

  /**
   * `C[m×n] (+)= alpha · op(A) · op(B)`: `nn` A[m×k]·B[k×n]; `nt` A[m×k]·B[n×k]ᵀ; `tn` A[k×m]ᵀ·B[k×n].
   * With `accumulate` the product is added to C. B may be a quantised weight (`uploadQuantized`),
   * stored [n, k] for `nt` and [k, n] for `nn`/`tn`.
   */
  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, k: number, n: number, layout: MatmulLayout, accumulate?: boolean, alpha?: number): void;
  /** `out[t, :] := table[ids[t], :]` for T rows of width d. */
  embed(out: Tensor, ids: Tensor, table: Tensor, T: number, d: number): void;
  /** `dTable[ids[t], :] += dOut[t, :]`. */
  embedBackward(dTable: Tensor, ids: Tensor, dOut: Tensor, T: number, d: number): void;
  /** RMSNorm over rows: `out = x / rms(x) · w`; stores 1/rms per row in `rstd` for the backward pass. */
  rmsnorm(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, T: number, d: number, eps: number): void;
  /** Backward of rmsnorm: `dx += …`; `dw += …` when `dw` is given. */
  rmsnormBackward(dx: Tensor, dw: Tensor | null, dOut: Tensor, x: Tensor, w: Tensor, rstd: Tensor, T: number, d: number): void;
  /**
   * Rotary embeddings in place on x[B·S, nHeads·hd], position of row (b, s) = `positionOffset + s`:
   * each head's pair (i, i + n/2) turned by position·`rotary.invFreq[i]`, n = 2·invFreq.length ≤ hd
   * (rotate-half, as in Hugging Face; dimensions past n untouched). `inverse` rotates back (the backward pass).
   */
  rope(x: Tensor, B: number, S: number, nHeads: number, hd: number, rotary: Rotary, positionOffset: number, inverse: boolean): void;
  /**
   * Causal self-attention with grouped-query heads (query head h reads kv head h / (nH / nKV)):
   * q[B·S, nH·hd], k and v [B·S, nKV·hd], out[B·S, nH·hd]; scores are `scale · q·k` (1/√hd for
   * Llama; Gemma 3: query_pre_attn_scalar^−½). Row (b, s) attends to positions
   * `firstVisiblePosition(s, window)` (attention-window.ts) … s of its sequence (`window` 0: all of 0 … s).
   * Keeps only each row's log-sum-exp of its scores, lse[B, nH, S], for the backward pass
   * (never the S×S probabilities: flash attention).
   */
  attention(out: Tensor, lse: Tensor, q: Tensor, k: Tensor, v: Tensor, B: number, S: number, nH: number, nKV: number, hd: number, scale: number, window: number): void;
  /**
   * Backward of attention from its inputs, its output `out` and its `lse`, recomputing the
   * probabilities a tile at a time: writes dq, dk, dv (overwritten, not accumulated).
   */
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dOut: Tensor, out: Tensor, q: Tensor, k: Tensor, v: Tensor, lse: Tensor, B: number, S: number, nH: number, nKV: number, hd: number, scale: number, window: number): void;
  /** `out = silu(gate) · up` over the first n elements. */
  swiglu(out: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** Backward of swiglu over the first n elements: writes dGate and dUp. */
  swigluBackward(dGate: Tensor, dUp: Tensor, dOut: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** `out = gelu(gate) · up` over the first n elements, GELU's tanh approximation (GeGLU, Gemma). */
  geglu(out: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** Backward of geglu over the first n elements: writes dGate and dUp. */
  gegluBackward(dGate: Tensor, dUp: Tensor, dOut: Tensor, gate: Tensor, up: Tensor, n: number): void;
  /** `out[t, :] += bias` over T rows of width n. */
  addBias(out: Tensor, bias: Tensor, T: number, n: number): void;
  /** `dBias += Σ_t dOut[t, :]`. */
  biasBackward(dBias: Tensor, dOut: Tensor, T: number, n: number): void;
  /**
   * Softmax cross-entropy per row of logits[T×V] against `targets` (−1 = ignored row, loss 0).
   * Writes each row's loss to `losses`; when `dLogits` is given writes `gradScale · (softmax − onehot)`
   * (zero on ignored rows). `dLogits` may be `logits` itself.
   */
  crossEntropy(losses: Tensor, dLogits: Tensor | null, logits: Tensor, targets: Tensor, T: number, V: number, gradScale: number): void;
  // ── Serving: rows of different sequences, each at its own position, with its own adapter ──
  /** Rotary embeddings in place on x[rows, nHeads·hd] (as `rope`), row i at position `positions[i]`. */
  ropeRows(x: Tensor, positions: Tensor, rows: number, nHeads: number, hd: number, rotary: Rotary): void;
  /**
   * Per-row LoRA (BGMV): `y[i] += scale[i] · B_i · (A_i · x[i])` for each row whose adapter is
   * given (A_i [r_i, in], B_i [out, r_i], and a served adapter's {@link loraServingFactors});
   * rows with `null` are left alone.
   */
  loraRows(y: Tensor, x: Tensor, adapters: ReadonlyArray<RowAdapter | null>, inDim: number, outDim: number): void;
  /**
   * A served adapter's factors (A [r, in], B [out, r], each a {@link HalfMatrix}) in the form this
   * backend's `loraRows` reads them, kept beside A and B (the CPU backend: A and Bᵀ as the halves
   * for the native kernels, else Bᵀ in f32). Absent: `loraRows` reads A and B.
   *
   * @example
   * const serving = backend.loraServingFactors?.(toHalfMatrix(a), toHalfMatrix(b), 8, 576, 1536) ?? null;
   */
  loraServingFactors?(a: HalfMatrix, b: HalfMatrix, r: number, inDim: number, outDim: number): Tensor;
  /** The bytes {@link loraServingFactors} keeps for one pair of factors of rank r (0 where absent). */
  loraServingBytes?(r: number, inDim: number, outDim: number): number;
  /**
   * A hint that `loraRows` with these adapters follows the next products: a backend may start
   * reading their factors while it computes them. Changes no result; absent: nothing to do.
   */
  loraPrefetch?(adapters: ReadonlyArray<RowAdapter | null>, inDim: number, outDim: number): void;
  /** Writes row i of k and v ([rows, kvd]) into cache slot `slots[i]` of kCache and vCache ([slots, kvd]). */
  kvWrite(kCache: Tensor, vCache: Tensor, k: Tensor, v: Tensor, slots: Tensor, rows: number, kvd: number): void;
  /**
   * Attention of each query row over its sequence's cached keys and values (paged): row i attends
   * to positions `firstVisiblePosition(lengths[i]−1, window)` … lengths[i]−1 (its own position
   * is the last), position p in slot `blockTables[i·maxBlocks + ⌊p / blockSize⌋]·blockSize + p mod blockSize`;
   * scores scaled by `scale` as in {@link Backend.attention}.
   */
  pagedAttention(out: Tensor, q: Tensor, kCache: Tensor, vCache: Tensor, blockTables: Tensor, lengths: Tensor, rows: number, nH: number, nKV: number, hd: number, blockSize: number, maxBlocks: number, scale: number, window: number): void;

  /**
   * Picks one token per row of logits[rows×V] into `ids` (i32, rows): the argmax where the row's
   * temperature ≤ 0, else the token at the row's `uniform` draw through the temperature softmax
   * restricted to its top-p nucleus, in descending probability (`sampleToken`'s rule, sample-token.ts).
   * Serving reads back only the ids, never the logits.
   */
  sample(ids: Tensor, logits: Tensor, rows: number, V: number, params: readonly SampleParams[]): void;

  /** Σ x² over all given tensors (for gradient clipping). */
  sumOfSquares(ts: readonly Tensor[]): Promise<number>;
  /** One decoupled-weight-decay Adam step; `gradScale` multiplies the gradient first (clipping). */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, o: AdamwStep): void;
}

export interface AdamwStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
  gradScale: number;
}
