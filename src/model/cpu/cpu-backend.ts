import type { AdamwStep, Backend, MatmulLayout, QuantizedMatrix, QuantType, RowAdapter, Tensor } from '../backend.ts';
import { checkWindow, firstVisiblePosition } from '../attention-window.ts';
import { GgmlQuantError, QUANT_FORMATS, dequantize, isQuantType, quantizedByteLength } from '../ggml-quants.ts';
import { sampleToken } from '../sample-token.ts';
import { expNonPositive } from './fast-exp.ts';
import { flashAttention, flashAttentionBackward, type AttentionShape } from './flash-attention.ts';
import { ropeTable } from './rope-table.ts';
import { halfMatrixValues, type HalfMatrix } from '../half-matrix.ts';
import type { LoraTable } from './matmul.ts';

/**
 * GELU's tanh approximation, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as
 * x·sigmoid(GELU_K·(x + GELU_C·x³)) with GELU_K = 2·√(2/π) (the same function, no tanh overflow).
 */
const GELU_K = 2 * Math.sqrt(2 / Math.PI), GELU_C = 0.044715;

/**
 * The gated MLP's activation, out = act(gate)·up over the first n elements, for act(x) =
 * x·sigmoid(k·(x + c·x³)): SiLU with (k, c) = (1, 0), tanh-GELU with (GELU_K, GELU_C).
 */
function gated(outT: Tensor, gateT: Tensor, upT: Tensor, n: number, k: number, c: number): void {
  const out = f32(outT), g = f32(gateT), u = f32(upT);
  for (let i = 0; i < n; i++) {
    const x = g[i]!;
    out[i] = x * sigmoid(k * (x + c * x * x * x)) * u[i]!;
  }
}

/** 1/(1 + e^−z) through {@link expNonPositive} (e^−|z|, a fifth of `Math.exp`'s cost): the MLP's activations take one per element. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + expNonPositive(-z));
  const e = expNonPositive(z);
  return e / (1 + e);
}

/** Backward of {@link gated}: act′(x) = s + x·s·(1 − s)·k·(1 + 3c·x²), s = sigmoid(k·(x + c·x³)). */
function gatedBackward(dGateT: Tensor, dUpT: Tensor, dOutT: Tensor, gateT: Tensor, upT: Tensor, n: number, k: number, c: number): void {
  const dg = f32(dGateT), du = f32(dUpT), dOut = f32(dOutT), g = f32(gateT), u = f32(upT);
  for (let i = 0; i < n; i++) {
    const x = g[i]!;
    const s = sigmoid(k * (x + c * x * x * x));
    du[i] = dOut[i]! * x * s;
    dg[i] = dOut[i]! * u[i]! * (s + x * s * (1 - s) * k * (1 + 3 * c * x * x));
  }
}

/** A CPU tensor: a typed array over shared memory, so worker threads can compute on it. */
export class CpuTensor implements Tensor {
  readonly data: Float32Array | Int32Array;
  readonly dtype: 'f32' | 'i32';
  constructor(data: Float32Array | Int32Array) {
    this.data = data;
    this.dtype = data instanceof Int32Array ? 'i32' : 'f32';
  }
  get length(): number {
    return this.data.length;
  }
}

/**
 * A weight matrix kept as ggml blocks: `bytes` is a view of `storage` (from the backend's
 * allocator, so on the kernels' heap), `rows` rows of `cols` elements.
 */
export class CpuQuantTensor implements Tensor {
  readonly dtype: QuantType;
  /** The blocks as the kernels take them (bytes on the heap). */
  readonly matrix: QuantizedMatrix;
  readonly storage: Float32Array;
  constructor(q: QuantizedMatrix, storage: Float32Array) {
    this.dtype = q.type;
    this.storage = storage;
    const bytes = new Uint8Array(storage.buffer, storage.byteOffset, q.bytes.length);
    bytes.set(q.bytes);
    this.matrix = { type: q.type, rows: q.rows, cols: q.cols, bytes };
  }
  get length(): number {
    return this.matrix.rows * this.matrix.cols;
  }
}

/**
 * A served adapter's factors as the native `loraRows` reads them: A [r, in] then Bᵀ [r, out], each
 * a {@link HalfMatrix} (half precision under a power-of-two scale), in one block of `storage` (from
 * the backend's allocator, so on the kernels' heap). What the kernels' table needs is kept as plain
 * numbers: a decode step reads it for every row's adapter, cold in cache after the base product.
 */
export class CpuHalfFactors implements Tensor {
  readonly dtype = 'f16';
  readonly storage: Float32Array;
  readonly r: number;
  readonly inDim: number;
  readonly outDim: number;
  /** The heap byte offsets of A's and Bᵀ's halves (−1: `storage` is not on the kernels' heap). */
  readonly aOffset: number;
  readonly btOffset: number;
  /** 2^-(the two scales' exponents): what the row's scale is multiplied by. */
  readonly unscale: number;
  constructor(a: HalfMatrix, b: HalfMatrix, r: number, inDim: number, outDim: number, storage: Float32Array, onHeap: boolean) {
    this.storage = storage;
    this.r = r, this.inDim = inDim, this.outDim = outDim;
    const halves = new Uint16Array(storage.buffer, storage.byteOffset, r * (inDim + outDim));
    halves.set(a.bits);
    transpose(b.bits, outDim, r, halves.subarray(r * inDim));
    this.unscale = 2 ** -(a.shift + b.shift);
    this.aOffset = onHeap ? storage.byteOffset : -1;
    this.btOffset = onHeap ? storage.byteOffset + 2 * r * inDim : -1;
  }
  get length(): number {
    return this.r * (this.inDim + this.outDim);
  }
}

/** x [rows, cols] transposed into `out` [cols, rows]. */
function transpose<T extends Float32Array | Uint16Array>(x: T, rows: number, cols: number, out: T): T {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!;
  return out;
}

/** The matrix product the CPU backend delegates to (single thread or a worker pool). */
export type MatmulFn = (c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, layout: MatmulLayout, accumulate: boolean, alpha: number) => void;
/** The matrix product with a quantised B (`nt`: W [n, k]; `nn`/`tn`: W [k, n]). */
export type MatmulQuantizedFn = (c: Float32Array, a: Float32Array, w: QuantizedMatrix, m: number, k: number, n: number, layout: MatmulLayout, accumulate: boolean, alpha: number) => void;

/** A tensor of the wrong kind for an operation (an engine bug, not user input). */
export class TensorTypeError extends Error {
  override name = 'TensorTypeError';
}

/** The typed array of an f32 or i32 tensor; a quantised one throws. */
function plain(t: Tensor): Float32Array | Int32Array {
  if (t instanceof CpuQuantTensor) throw new TensorTypeError(`a ${t.dtype} weight can only be matmul's B, read or freed`);
  if (t instanceof CpuHalfFactors) throw new TensorTypeError("an adapter's half-precision factors can only be loraRows' or freed");
  return (t as CpuTensor).data;
}

function f32(t: Tensor): Float32Array {
  const data = (t as CpuTensor).data;
  if (!(data instanceof Float32Array)) throw new TensorTypeError('expected an f32 CPU tensor');
  return data;
}

/**
 * The native kernels' table of row adapters for products of `inDim` → `outDim`, where every one is
 * served on them (its half-precision factors on the heap, of this shape), else null.
 */
function kernelTable(adapters: ReadonlyArray<RowAdapter | null>, inDim: number, outDim: number): LoraTable | null {
  const entries = new Float64Array(4 * adapters.length);
  for (let i = 0; i < adapters.length; i++) {
    const ad = adapters[i], h = ad?.serving;
    if (!ad) {
      entries[4 * i] = entries[4 * i + 1] = -1;
      continue;
    }
    if (!(h instanceof CpuHalfFactors) || h.aOffset < 0 || h.r !== ad.r || h.inDim !== inDim || h.outDim !== outDim) return null;
    entries[4 * i] = h.aOffset, entries[4 * i + 1] = h.btOffset, entries[4 * i + 2] = ad.r, entries[4 * i + 3] = ad.scale * h.unscale;
  }
  return { n: adapters.length, inDim, outDim, entries };
}

function i32(t: Tensor): Int32Array {
  const data = (t as CpuTensor).data;
  if (!(data instanceof Int32Array)) throw new TensorTypeError('expected an i32 CPU tensor');
  return data;
}

/** Options of {@link createCpuBackend}. */
export interface CpuBackendOptions {
  /** The matrix product; defaults to the single-threaded blocked kernel. */
  matmul: MatmulFn;
  /** The product with a quantised B; by default B is dequantised (per call) and `matmul` multiplies. */
  matmulQuantized?: MatmulQuantizedFn;
  /** Allocates the zero-filled data of new f32 tensors (e.g. on the kernels' shared heap). */
  allocate?: (length: number) => Float32Array;
  /** One row's LoRA update from A and Bᵀ on the kernels (`matmul.ts` `loraRow`); false where it cannot. */
  loraRow?: (y: Float32Array, x: Float32Array, a: Float32Array, bt: Float32Array, inDim: number, outDim: number, r: number, scale: number, u: Float32Array) => boolean;
  /**
   * The native kernels' per-row LoRA on half-precision factors (`matmul.ts`): `rows` computes
   * every row's update of a {@link LoraTable} in one call (false where it cannot), `prefetch` hints
   * that it follows the next products; `onHeap` says whether an array lies on their heap.
   * Given: served adapters keep their factors for them ({@link CpuHalfFactors}); absent: they keep
   * Bᵀ, for `loraRow`.
   */
  loraKernels?: {
    onHeap: (array: Float32Array) => boolean;
    rows: (y: Float32Array, x: Float32Array, table: LoraTable) => boolean;
    prefetch: (table: LoraTable) => void;
  };
  /** The gated MLP's activation on the kernels (`matmul.ts` `gated`); false where they cannot take it. */
  gated?: (out: Float32Array, gate: Float32Array, up: Float32Array, n: number, k: number, c: number) => boolean;
  /** Its backward on the kernels (`matmul.ts` `gatedBackward`); false where they cannot take it. */
  gatedBackward?: (dGate: Float32Array, dUp: Float32Array, dOut: Float32Array, gate: Float32Array, up: Float32Array, n: number, k: number, c: number) => boolean;
  /** Flash attention on the kernels (`matmul.ts` `attention`); false where they cannot take it. */
  attention?: (out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape) => boolean;
  /** Its backward on the kernels (`matmul.ts` `attentionBackward`); false where they cannot take it. */
  attentionBackward?: (dq: Float32Array, dk: Float32Array, dv: Float32Array, dOut: Float32Array, out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, lse: Float32Array, shape: AttentionShape) => boolean;
  /** Decode's paged attention on the kernels (`matmul.ts` `pagedAttention`); false where they cannot take it. */
  pagedAttention?: (out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, tables: Int32Array, lengths: Int32Array,
    shape: { rows: number; nH: number; nKV: number; hd: number; blockSize: number; maxBlocks: number; scale: number; window: number }) => boolean;
  /** Gives back data from `allocate` when a tensor is freed. */
  release?: (data: Float32Array) => void;
  /** Called by dispose (e.g. to stop the worker pool). */
  onDispose?: () => Promise<void>;
  name?: string;
}

/**
 * The CPU backend: every operation of {@link Backend} over typed arrays, executed at once
 * (so `read` never waits). Matrix products go to `options.matmul`.
 *
 * @example
 * const backend = createCpuBackend({ matmul });
 * const t = backend.upload(new Float32Array([1, 2, 3]));
 * backend.scale(t, 2);
 * await backend.read(t); // Float32Array [2, 4, 6]
 */
export function createCpuBackend(options: CpuBackendOptions): Backend {
  const newF32 = options.allocate ?? ((length: number) => new Float32Array(length));
  /** The gated MLP's activation (and backward) on the kernels where they take it, else here. */
  const activation = (outT: Tensor, gateT: Tensor, upT: Tensor, n: number, k: number, c: number): void => {
    if (!options.gated?.(f32(outT), f32(gateT), f32(upT), n, k, c)) gated(outT, gateT, upT, n, k, c);
  };
  const activationBackward = (dGateT: Tensor, dUpT: Tensor, dOutT: Tensor, gateT: Tensor, upT: Tensor, n: number, k: number, c: number): void => {
    if (!options.gatedBackward?.(f32(dGateT), f32(dUpT), f32(dOutT), f32(gateT), f32(upT), n, k, c)) gatedBackward(dGateT, dUpT, dOutT, gateT, upT, n, k, c);
  };
  const matmul = options.matmul;
  const matmulQuantized: MatmulQuantizedFn = options.matmulQuantized ?? ((c, a, w, m, k, n, layout, accumulate, alpha) => {
    matmul(c, a, dequantize(w.type, w.bytes, w.rows * w.cols), m, k, n, layout, accumulate, alpha);
  });
  // the native kernels' table of the last row adapters given: a projection's loraPrefetch and
  // loraRows get the same list (the same adapter objects), and it is laid out once for both
  let lastTable: { adapters: ReadonlyArray<RowAdapter | null>; inDim: number; outDim: number; table: LoraTable | null } | null = null;
  const loraTableOf = (adapters: ReadonlyArray<RowAdapter | null>, inDim: number, outDim: number): LoraTable | null => {
    if (!options.loraKernels) return null;
    const last = lastTable;
    if (last && last.inDim === inDim && last.outDim === outDim && last.adapters.length === adapters.length && last.adapters.every((ad, i) => ad === adapters[i])) return last.table;
    const table = kernelTable(adapters, inDim, outDim);
    lastTable = { adapters, inDim, outDim, table };
    return table;
  };
  // scratch panels of the attention kernels, grown on demand and reused
  const panels = new Map<string, Float32Array>();
  const panel = (name: string, length: number): Float32Array => {
    let p = panels.get(name);
    if (!p || p.length < length) {
      if (p) options.release?.(p);
      p = newF32(length);
      panels.set(name, p);
    }
    return p;
  };

  return {
    name: options.name ?? 'cpu',
    loraServingFactors(a, b, r, inDim, outDim) {
      if (options.loraKernels) {
        const storage = newF32(Math.ceil((r * (inDim + outDim)) / 2));
        return new CpuHalfFactors(a, b, r, inDim, outDim, storage, options.loraKernels.onHeap(storage));
      }
      return new CpuTensor(transpose(halfMatrixValues(b), outDim, r, newF32(r * outDim)));
    },
    loraServingBytes: (r, inDim, outDim) => (options.loraKernels ? 4 * Math.ceil((r * (inDim + outDim)) / 2) : 4 * r * outDim),

    zeros: (length) => new CpuTensor(newF32(length)),
    upload(data) {
      const t = data instanceof Int32Array ? new Int32Array(data.length) : newF32(data.length);
      t.set(data);
      return new CpuTensor(t);
    },
    uploadQuantized(q) {
      const format = isQuantType(q.type) ? QUANT_FORMATS[q.type] : undefined;
      if (!format) throw new GgmlQuantError(`uploadQuantized: unknown quantised type ${String(q.type)}`);
      if (!Number.isSafeInteger(q.rows) || !Number.isSafeInteger(q.cols) || q.rows < 1 || q.cols < 1 || q.cols % format.block !== 0) {
        throw new GgmlQuantError(`uploadQuantized: ${q.rows}×${q.cols} ${q.type} is not rows of whole ${format.block}-element blocks`);
      }
      const bytes = quantizedByteLength(q.type, q.rows * q.cols);
      if (q.bytes.length !== bytes) throw new GgmlQuantError(`uploadQuantized: ${q.rows}×${q.cols} ${q.type} is ${bytes} bytes, got ${q.bytes.length}`);
      return new CpuQuantTensor(q, newF32(Math.ceil(bytes / 4)));
    },
    write(t, data, offset = 0) {
      plain(t).set(data, offset);
    },
    async read(t) {
      if (t instanceof CpuQuantTensor) return dequantize(t.dtype, t.matrix.bytes, t.length);
      const data = plain(t);
      return data instanceof Float32Array ? data.slice() : Float32Array.from(data);
    },
    free(t) {
      const data = t instanceof CpuQuantTensor || t instanceof CpuHalfFactors ? t.storage : plain(t);
      if (data instanceof Float32Array && data.length > 0) options.release?.(data);
    },
    async dispose() {
      for (const p of panels.values()) options.release?.(p);
      panels.clear();
      await options.onDispose?.();
    },

    fill(t, value) {
      plain(t).fill(value);
    },
    copy(dst, src, length = src.length, dstOffset = 0, srcOffset = 0) {
      f32(dst).set(f32(src).subarray(srcOffset, srcOffset + length), dstOffset);
    },
    axpy(yT, xT, alpha, n = xT.length) {
      const y = f32(yT), x = f32(xT);
      for (let i = 0; i < n; i++) y[i]! += alpha * x[i]!;
    },
    scale(t, alpha) {
      const x = f32(t);
      for (let i = 0; i < x.length; i++) x[i]! *= alpha;
    },

    matmul(c, a, b, m, k, n, layout, accumulate = false, alpha = 1) {
      if (b instanceof CpuQuantTensor) matmulQuantized(f32(c), f32(a), b.matrix, m, k, n, layout, accumulate, alpha);
      else matmul(f32(c), f32(a), f32(b), m, k, n, layout, accumulate, alpha);
    },

    embed(outT, idsT, tableT, T, d) {
      const out = f32(outT), ids = i32(idsT);
      // a quantised table (a GGUF model's token_embd) gives each row dequantised
      const quant = tableT instanceof CpuQuantTensor ? tableT.matrix : null;
      const table = quant ? null : f32(tableT);
      const rows = quant ? quant.rows : table!.length / d;
      const rowBytes = quant ? quantizedByteLength(quant.type, d) : 0;
      for (let t = 0; t < T; t++) {
        const id = ids[t]!;
        if (id < 0 || id >= rows) throw new RangeError(`token id ${id} outside the vocabulary (0..${rows - 1})`);
        if (quant) dequantize(quant.type, quant.bytes, d, id * rowBytes, out.subarray(t * d, t * d + d));
        else out.set(table!.subarray(id * d, id * d + d), t * d);
      }
    },
    embedBackward(dTableT, idsT, dOutT, T, d) {
      const dTable = f32(dTableT), ids = i32(idsT), dOut = f32(dOutT);
      for (let t = 0; t < T; t++) {
        const row = ids[t]! * d;
        for (let i = 0; i < d; i++) dTable[row + i]! += dOut[t * d + i]!;
      }
    },

    rmsnorm(outT, rstdT, xT, wT, T, d, eps) {
      const out = f32(outT), rstd = f32(rstdT), x = f32(xT), w = f32(wT);
      for (let t = 0; t < T; t++) {
        const o = t * d;
        let ss = 0;
        for (let i = 0; i < d; i++) ss += x[o + i]! * x[o + i]!;
        const r = 1 / Math.sqrt(ss / d + eps);
        rstd[t] = r;
        for (let i = 0; i < d; i++) out[o + i] = x[o + i]! * r * w[i]!;
      }
    },
    rmsnormBackward(dxT, dwT, dOutT, xT, wT, rstdT, T, d) {
      const dx = f32(dxT), dOut = f32(dOutT), x = f32(xT), w = f32(wT), rstd = f32(rstdT);
      const dw = dwT ? f32(dwT) : null;
      for (let t = 0; t < T; t++) {
        const o = t * d, r = rstd[t]!;
        // xhat = x·r; dxhat = dOut·w; dx = r·(dxhat − xhat·mean(dxhat·xhat))
        let dot = 0;
        for (let i = 0; i < d; i++) dot += dOut[o + i]! * w[i]! * x[o + i]! * r;
        const mean = dot / d;
        for (let i = 0; i < d; i++) {
          const xhat = x[o + i]! * r;
          dx[o + i]! += r * (dOut[o + i]! * w[i]! - xhat * mean);
          if (dw) dw[i]! += dOut[o + i]! * xhat;
        }
      }
    },

    rope(xT, B, S, nHeads, hd, rotary, positionOffset, inverse) {
      const x = f32(xT);
      const half = rotary.invFreq.length;
      const { cos, sin } = ropeTable(positionOffset + S, rotary);
      const sign = inverse ? -1 : 1;
      const width = nHeads * hd;
      for (let b = 0; b < B; b++) {
        for (let s = 0; s < S; s++) {
          const row = (b * S + s) * width;
          const p = (positionOffset + s) * half;
          for (let h = 0; h < nHeads; h++) {
            const o = row + h * hd;
            for (let i = 0; i < half; i++) {
              const c = cos[p + i]!, sn = sign * sin[p + i]!;
              const x1 = x[o + i]!, x2 = x[o + i + half]!;
              x[o + i] = x1 * c - x2 * sn;
              x[o + i + half] = x2 * c + x1 * sn;
            }
          }
        }
      }
    },

    // flash attention (flash-attention.ts, or the native kernels' copy of it): tiles through the matrix kernels, never S×S
    attention(outT, lseT, qT, kT, vT, B, S, nH, nKV, hd, scale, window) {
      checkWindow(window);
      const args = [f32(outT), f32(lseT), f32(qT), f32(kT), f32(vT), { B, S, nH, nKV, hd, scale, window }] as const;
      if (!options.attention?.(...args)) flashAttention(matmul, panel, ...args);
    },
    attentionBackward(dqT, dkT, dvT, dOutT, outT, qT, kT, vT, lseT, B, S, nH, nKV, hd, scale, window) {
      checkWindow(window);
      const args = [f32(dqT), f32(dkT), f32(dvT), f32(dOutT), f32(outT), f32(qT), f32(kT), f32(vT), f32(lseT), { B, S, nH, nKV, hd, scale, window }] as const;
      if (!options.attentionBackward?.(...args)) flashAttentionBackward(matmul, panel, ...args);
    },

    swiglu(outT, gateT, upT, n) {
      activation(outT, gateT, upT, n, 1, 0);
    },
    swigluBackward(dGateT, dUpT, dOutT, gateT, upT, n) {
      activationBackward(dGateT, dUpT, dOutT, gateT, upT, n, 1, 0);
    },
    geglu(outT, gateT, upT, n) {
      activation(outT, gateT, upT, n, GELU_K, GELU_C);
    },
    gegluBackward(dGateT, dUpT, dOutT, gateT, upT, n) {
      activationBackward(dGateT, dUpT, dOutT, gateT, upT, n, GELU_K, GELU_C);
    },
    addBias(outT, biasT, T, n) {
      const out = f32(outT), bias = f32(biasT);
      for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) out[t * n + i]! += bias[i]!;
    },
    biasBackward(dBiasT, dOutT, T, n) {
      const dBias = f32(dBiasT), dOut = f32(dOutT);
      for (let t = 0; t < T; t++) for (let i = 0; i < n; i++) dBias[i]! += dOut[t * n + i]!;
    },

    crossEntropy(lossesT, dLogitsT, logitsT, targetsT, T, V, gradScale) {
      const losses = f32(lossesT), logits = f32(logitsT), targets = i32(targetsT);
      const dLogits = dLogitsT ? f32(dLogitsT) : null;
      for (let t = 0; t < T; t++) {
        const o = t * V, target = targets[t]!;
        if (target < 0) {
          losses[t] = 0;
          if (dLogits) dLogits.fill(0, o, o + V);
          continue;
        }
        if (target >= V) throw new RangeError(`target id ${target} outside the vocabulary (0..${V - 1})`);
        let max = -Infinity;
        for (let i = 0; i < V; i++) if (logits[o + i]! > max) max = logits[o + i]!;
        const targetLogit = logits[o + target]!;
        // exp once: into the gradient row when there is one (it may alias the logits)
        let sum = 0;
        if (dLogits) {
          for (let i = 0; i < V; i++) {
            const e = Math.exp(logits[o + i]! - max);
            dLogits[o + i] = e;
            sum += e;
          }
          const k = gradScale / sum;
          for (let i = 0; i < V; i++) dLogits[o + i]! *= k;
          dLogits[o + target]! -= gradScale;
        } else {
          for (let i = 0; i < V; i++) sum += Math.exp(logits[o + i]! - max);
        }
        losses[t] = Math.log(sum) + max - targetLogit;
      }
    },
    ropeRows(xT, positionsT, rows, nHeads, hd, rotary) {
      const x = f32(xT), positions = i32(positionsT);
      const half = rotary.invFreq.length, width = nHeads * hd;
      let maxPosition = 0;
      for (let i = 0; i < rows; i++) maxPosition = Math.max(maxPosition, positions[i]!);
      const { cos, sin } = ropeTable(maxPosition + 1, rotary);
      for (let i = 0; i < rows; i++) {
        const p = positions[i]! * half;
        for (let h = 0; h < nHeads; h++) {
          const o = i * width + h * hd;
          for (let j = 0; j < half; j++) {
            const c = cos[p + j]!, sn = sin[p + j]!;
            const x1 = x[o + j]!, x2 = x[o + j + half]!;
            x[o + j] = x1 * c - x2 * sn;
            x[o + j + half] = x2 * c + x1 * sn;
          }
        }
      }
    },
    loraPrefetch(adapters, inDim, outDim) {
      const table = loraTableOf(adapters, inDim, outDim);
      if (table) options.loraKernels!.prefetch(table);
    },
    loraRows(yT, xT, adapters, inDim, outDim) {
      const y = f32(yT), x = f32(xT);
      // frozen adapters (half-precision factors at hand): every row in one kernel call, each on its own
      const table = loraTableOf(adapters, inDim, outDim);
      if (table && options.loraKernels!.rows(y, x, table)) return;
      // SGMV: the rows of each adapter go through the matrix products together (u = s·X·Aᵀ,
      // Y += u·Bᵀ), gathered into a panel when they are not adjacent and scattered back after
      // one group per (A, B, scale): adapters may share a factor (a serving pool's A with another B)
      // (a frozen adapter's Bᵀ where it keeps one, for the one-row kernel and 'nn' products)
      const groups: Array<{ a: Tensor; b: Tensor; bt: Tensor | null; r: number; scale: number; rows: number[] }> = [];
      adapters.forEach((ad, i) => {
        if (!ad) return;
        let g = groups.find((x) => x.a === ad.a && x.b === ad.b && x.scale === ad.scale);
        if (!g) groups.push((g = { a: ad.a, b: ad.b, bt: ad.serving instanceof CpuTensor ? ad.serving : null, r: ad.r, scale: ad.scale, rows: [] }));
        g.rows.push(i);
      });
      // Y += u·Bᵀ: from Bᵀ [r, out] as it lies when the adapter has it ('nn', nothing packed), else from B ('nt')
      const update = (y: Float32Array, u: Float32Array, b: Tensor, bt: Tensor | null, n: number, r: number, accumulate: boolean) =>
        (bt ? matmul(y, u, f32(bt), n, r, outDim, 'nn', accumulate, 1) : matmul(y, u, f32(b), n, r, outDim, 'nt', accumulate, 1));
      for (const { a, b, bt, r, scale, rows } of groups) {
        const n = rows.length, first = rows[0]!, adjacent = rows[n - 1]! - first === n - 1;
        // a row alone with its adapter (many adapters, one sequence each): one kernel call, no products' set-up
        if (n === 1 && bt && options.loraRow?.(y.subarray(first * outDim, (first + 1) * outDim), x.subarray(first * inDim, (first + 1) * inDim), f32(a), f32(bt), inDim, outDim, r, scale, panel('loraU', r).subarray(0, r))) continue;
        let xs = x.subarray(first * inDim, (first + n) * inDim);
        if (!adjacent) {
          xs = panel('loraX', n * inDim).subarray(0, n * inDim);
          rows.forEach((row, i) => xs.set(x.subarray(row * inDim, (row + 1) * inDim), i * inDim));
        }
        const u = panel('loraU', n * r).subarray(0, n * r);
        matmul(u, xs, f32(a), n, inDim, r, 'nt', false, scale); // u [n, r]
        if (adjacent) {
          update(y.subarray(first * outDim, (first + n) * outDim), u, b, bt, n, r, true);
        } else {
          const ys = panel('loraY', n * outDim).subarray(0, n * outDim);
          update(ys, u, b, bt, n, r, false); // ys [n, out]
          rows.forEach((row, i) => {
            const yo = row * outDim, so = i * outDim;
            for (let o = 0; o < outDim; o++) y[yo + o]! += ys[so + o]!;
          });
        }
      }
    },
    kvWrite(kCacheT, vCacheT, kT, vT, slotsT, rows, kvd) {
      const kc = f32(kCacheT), vc = f32(vCacheT), k = f32(kT), v = f32(vT), slots = i32(slotsT);
      for (let i = 0; i < rows; i++) {
        const slot = slots[i]!;
        if (slot < 0 || (slot + 1) * kvd > kc.length) throw new RangeError(`KV slot ${slot} outside the cache`);
        kc.set(k.subarray(i * kvd, (i + 1) * kvd), slot * kvd);
        vc.set(v.subarray(i * kvd, (i + 1) * kvd), slot * kvd);
      }
    },
    pagedAttention(outT, qT, kCacheT, vCacheT, tablesT, lengthsT, rows, nH, nKV, hd, blockSize, maxBlocks, scale, window) {
      checkWindow(window);
      const out = f32(outT), q = f32(qT), kc = f32(kCacheT), vc = f32(vCacheT), tables = i32(tablesT), lengths = i32(lengthsT);
      if (options.pagedAttention?.(out, q, kc, vc, tables, lengths, { rows, nH, nKV, hd, blockSize, maxBlocks, scale, window })) return;
      const group = nH / nKV, qw = nH * hd, kvd = nKV * hd;
      let slots = new Int32Array(0);
      for (let i = 0; i < rows; i++) {
        const n = lengths[i]!;
        if (n > maxBlocks * blockSize) throw new RangeError(`sequence of ${n} tokens exceeds its block table`);
        const first = firstVisiblePosition(n - 1, window); // the row is at position n − 1
        const visible = n - first;
        if (slots.length < visible) slots = new Int32Array(Math.max(visible, slots.length * 2));
        // each visible position's cache row, once per row (not per head)
        for (let p = first; p < n; p++) slots[p - first] = (tables[i * maxBlocks + Math.floor(p / blockSize)]! * blockSize + (p % blockSize)) * kvd;
        // per key-value head: its visible keys and values gathered into panels, then the query
        // heads sharing it as two matrix products (scores [group, visible], out [group, hd])
        const kp = panel('pagedK', visible * hd).subarray(0, visible * hd), vp = panel('pagedV', visible * hd).subarray(0, visible * hd);
        const sc = panel('pagedScores', group * visible).subarray(0, group * visible);
        for (let g = 0; g < nKV; g++) {
          const ko = g * hd, q0 = i * qw + g * group * hd;
          for (let p = 0; p < visible; p++) {
            const o = slots[p]! + ko;
            kp.set(kc.subarray(o, o + hd), p * hd);
            vp.set(vc.subarray(o, o + hd), p * hd);
          }
          matmul(sc, q.subarray(q0, q0 + group * hd), kp, group, hd, visible, 'nt', false, scale); // scores [group, visible]
          for (let t = 0; t < group; t++) {
            const so = t * visible;
            let max = -Infinity;
            for (let p = 0; p < visible; p++) if (sc[so + p]! > max) max = sc[so + p]!;
            let sum = 0;
            for (let p = 0; p < visible; p++) {
              const e = expNonPositive(sc[so + p]! - max);
              sc[so + p] = e;
              sum += e;
            }
            const inv = 1 / sum;
            for (let p = 0; p < visible; p++) sc[so + p]! *= inv;
          }
          matmul(out.subarray(q0, q0 + group * hd), sc, vp, group, visible, hd, 'nn', false, 1); // out [group, hd]
        }
      }
    },
    sample(idsT, logitsT, rows, V, params) {
      const ids = i32(idsT), logits = f32(logitsT);
      for (let i = 0; i < rows; i++) {
        const p = params[i]!;
        ids[i] = sampleToken(logits.subarray(i * V, (i + 1) * V), p, () => p.uniform);
      }
    },
    async sumOfSquares(ts) {
      let sum = 0;
      for (const t of ts) {
        const x = f32(t);
        for (let i = 0; i < x.length; i++) sum += x[i]! * x[i]!;
      }
      return sum;
    },
    adamw(paramT, gradT, mT, vT, o: AdamwStep) {
      const p = f32(paramT), g = f32(gradT), m = f32(mT), v = f32(vT);
      const c1 = 1 - o.beta1 ** o.step, c2 = 1 - o.beta2 ** o.step;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]! * o.gradScale;
        m[i] = o.beta1 * m[i]! + (1 - o.beta1) * gi;
        v[i] = o.beta2 * v[i]! + (1 - o.beta2) * gi * gi;
        p[i]! -= o.lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + o.eps) + o.weightDecay * p[i]!);
      }
    },
  };
}
