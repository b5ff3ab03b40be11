/**
 * Single-threaded matrix products for the CPU backend, in the layouts of `Backend.matmul`:
 * `nn` C[m×n] = A[m×k]·B[k×n]; `nt` C = A[m×k]·B[n×k]ᵀ (Linear forward, W stored [out, in]);
 * `tn` C = A[k×m]ᵀ·B[k×n] (weight gradients). They run the WebAssembly SIMD kernels in place on
 * arrays from `allocShared` (the shared heap); other arrays are copied onto the heap and back.
 * `matmul-pool.ts` splits the same work across threads. `matmulQuantized` takes B as ggml blocks
 * (`ggml-quants.ts`) and computes on them (`matmul-quant.ts`).
 */
import type { MatmulLayout, QuantizedMatrix } from '../backend.ts';
import { sharedHeap } from './matmul-heap.ts';
import type { SharedHeap } from './matmul-heap.ts';
import { matmulRowsJs } from './matmul-js.ts';
import { GemmEngine, LAYOUT_CODES, kernelModule, scratchBytes, wasmKernelsAvailable } from './matmul-wasm.ts';
import { QUANT_CODES } from './matmul-quant.ts';
import { QUANT_FORMATS, dequantize } from '../ggml-quants.ts';
import type { AttentionShape } from './flash-attention.ts';

export type { MatmulLayout } from '../backend.ts';

/** Operands whose sizes do not match the product's shape, or a bad shape or row range. */
export class MatmulShapeError extends Error {
  override name = 'MatmulShapeError';
}

/**
 * Checks `c`, `a`, `b` against `m, k, n` and the row range; throws {@link MatmulShapeError}.
 *
 * @example
 * checkMatmul(c, a, b, 2, 3, 4, 'nn', 0, 2);
 */
export function checkMatmul(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
  layout: MatmulLayout, rowStart: number, rowEnd: number): void {
  checkShape(m, k, n, layout);
  if (b.length < k * n) throw new MatmulShapeError(`matmul ${layout}: B has ${b.length} elements, needs ${layout === 'nt' ? `${n}×${k}` : `${k}×${n}`}`);
  checkAC(c, a, m, k, n, layout, rowStart, rowEnd);
}

function checkShape(m: number, k: number, n: number, layout: MatmulLayout): void {
  for (const [name, v] of [['m', m], ['k', k], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new MatmulShapeError(`matmul: ${name} = ${v} is not a size`);
  }
  if (layout !== 'nn' && layout !== 'nt' && layout !== 'tn') throw new MatmulShapeError(`matmul: unknown layout '${String(layout)}'`);
}

function checkAC(c: Float32Array, a: Float32Array, m: number, k: number, n: number, layout: MatmulLayout, rowStart: number, rowEnd: number): void {
  if (a.length < m * k) throw new MatmulShapeError(`matmul ${layout}: A has ${a.length} elements, needs ${m}×${k}`);
  if (c.length < m * n) throw new MatmulShapeError(`matmul ${layout}: C has ${c.length} elements, needs ${m}×${n}`);
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowEnd > m || rowStart > rowEnd) {
    throw new MatmulShapeError(`matmul: row range [${rowStart}, ${rowEnd}) outside [0, ${m})`);
  }
}

/** A matrix of ggml blocks: `rows` rows of `cols` elements (whole blocks), row-major, as in a GGUF file. */
export type QuantOperand = QuantizedMatrix;

/**
 * Checks a product with a quantised B (`nt`: W [n, k]; `nn`/`tn`: W [k, n]); throws {@link MatmulShapeError}.
 *
 * @example
 * checkMatmulQuantized(c, a, w, 1, 576, 1536, 'nt', 0, 1);
 */
export function checkMatmulQuantized(c: Float32Array, a: Float32Array, w: QuantOperand, m: number, k: number, n: number,
  layout: MatmulLayout, rowStart: number, rowEnd: number): void {
  checkShape(m, k, n, layout);
  const format = QUANT_FORMATS[w.type];
  if (!format) throw new MatmulShapeError(`matmul: unknown quantised type ${String(w.type)}`);
  const [rows, cols] = layout === 'nt' ? [n, k] : [k, n];
  if (w.rows !== rows || w.cols !== cols) throw new MatmulShapeError(`matmul ${layout}: quantised B is ${w.rows}×${w.cols}, needs ${rows}×${cols}`);
  if (cols % format.block !== 0) throw new MatmulShapeError(`matmul ${layout}: ${w.type} rows of ${cols} are not whole blocks of ${format.block}`);
  const bytes = (rows * cols / format.block) * format.bytes;
  if (w.bytes.length < bytes) throw new MatmulShapeError(`matmul ${layout}: quantised B has ${w.bytes.length} bytes, ${rows}×${cols} ${w.type} needs ${bytes}`);
  checkAC(c, a, m, k, n, layout, rowStart, rowEnd);
}

let engine: GemmEngine | undefined;
/** Set when WebAssembly (shared memory + SIMD) is unavailable: everything runs the JS kernel. */
let wasmUnavailable = false;

/**
 * This thread's engine over the process heap (created on first use), or undefined without WebAssembly SIMD.
 *
 * @example
 * const engine = mainEngine();
 */
export function mainEngine(): GemmEngine | undefined {
  if (engine || wasmUnavailable) return engine;
  if (!wasmKernelsAvailable()) {
    wasmUnavailable = true;
    return undefined;
  }
  const heap = sharedHeap();
  engine = new GemmEngine(heap.memory, kernelModule(), heap.allocBytes(scratchBytes()));
  return engine;
}

/**
 * Byte offsets on the heap of the three operands, copying those not on it into temporary blocks
 * (C only when accumulating); `release` copies C back when it was copied, and frees the blocks.
 * Only the rows [rowStart, rowEnd) of C are copied.
 */
export function onHeap(heap: SharedHeap, c: Float32Array, a: Float32Array, b: Float32Array | Uint8Array, m: number, k: number, n: number,
  accumulate: boolean, rowStart: number, rowEnd: number): { c: number; a: number; b: number; release: () => void } {
  const temps: number[] = [];
  const place = (x: Float32Array | Uint8Array, bytes: number, copy: boolean): number => {
    if (heap.contains(x)) return x.byteOffset;
    const offset = heap.allocBytes(bytes);
    temps.push(offset);
    if (copy) new Uint8Array(heap.buffer(), offset, bytes).set(new Uint8Array(x.buffer, x.byteOffset, bytes));
    return offset;
  };
  // a quantised B (bytes) is copied whole
  const aOff = place(a, 4 * m * k, true), bOff = place(b, b instanceof Uint8Array ? b.length : 4 * k * n, true);
  const cOnHeap = heap.contains(c);
  const cOff = cOnHeap ? c.byteOffset : place(c, 4 * m * n, false);
  if (!cOnHeap && accumulate) {
    new Float32Array(heap.buffer(), cOff + rowStart * n * 4, (rowEnd - rowStart) * n).set(c.subarray(rowStart * n, rowEnd * n));
  }
  return {
    c: cOff, a: aOff, b: bOff,
    release: () => {
      if (!cOnHeap) c.set(new Float32Array(heap.buffer(), cOff + rowStart * n * 4, (rowEnd - rowStart) * n), rowStart * n);
      for (const t of temps) heap.freeBytes(t);
    },
  };
}

/**
 * Rows `[rowStart, rowEnd)` of `C[m×n] (+)= alpha · op(A)·op(B)` on this thread (the other rows of C
 * are untouched): `nn` A[m×k]·B[k×n]; `nt` A[m×k]·B[n×k]ᵀ; `tn` A[k×m]ᵀ·B[k×n]. With `accumulate`
 * the product is added to C. Arrays from `allocShared` are used in place; others are copied.
 * C must not overlap A or B.
 *
 * @example
 * const c = allocShared(2 * 2);
 * matmulRows(c, a, b, 2, 3, 2, 'nt', false, 1, 0, 1); // first row only
 */
export function matmulRows(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate: boolean, alpha: number, rowStart: number, rowEnd: number): void {
  checkMatmul(c, a, b, m, k, n, layout, rowStart, rowEnd);
  if (rowEnd === rowStart || n === 0) return;
  const e = mainEngine();
  if (!e) {
    matmulRowsJs(c, a, b, m, k, n, layout, accumulate, alpha, rowStart, rowEnd);
    return;
  }
  const at = onHeap(sharedHeap(), c, a, b, m, k, n, accumulate, rowStart, rowEnd);
  try {
    e.gemm(at.c, at.a, at.b, m, k, n, LAYOUT_CODES[layout], accumulate, alpha, rowStart, rowEnd, 0, n);
  } finally {
    at.release();
  }
}

/**
 * `C[m×n] (+)= alpha · op(A)·op(B)` on this thread (see {@link matmulRows}).
 *
 * @example
 * const a = allocShared(6).fill(1), b = allocShared(6).fill(2), c = allocShared(4);
 * matmul(c, a, b, 2, 3, 2, 'nn'); // c = [6, 6, 6, 6]
 */
export function matmul(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate = false, alpha = 1): void {
  matmulRows(c, a, b, m, k, n, layout, accumulate, alpha, 0, m);
}

/**
 * Rows `[rowStart, rowEnd)` of `C[m×n] (+)= alpha · op(A)·op(W)` on this thread, W quantised
 * (`nt`: C = A[m×k]·Wᵀ, W [n, k], a GGUF [out, in] weight; `nn`: C = A[m×k]·W, W [k, n]; `tn`:
 * C = A[k×m]ᵀ·W). W's bytes are used in place when they are on the heap (copied otherwise).
 *
 * @example
 * matmulQuantizedRows(y, x, { type: 'Q4_K', rows: 1536, cols: 576, bytes }, 1, 576, 1536, 'nt', false, 1, 0, 1);
 */
export function matmulQuantizedRows(c: Float32Array, a: Float32Array, w: QuantOperand, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate: boolean, alpha: number, rowStart: number, rowEnd: number): void {
  checkMatmulQuantized(c, a, w, m, k, n, layout, rowStart, rowEnd);
  if (rowEnd === rowStart || n === 0) return;
  const e = mainEngine();
  if (!e) {
    matmulRowsJs(c, a, dequantize(w.type, w.bytes, w.rows * w.cols), m, k, n, layout, accumulate, alpha, rowStart, rowEnd);
    return;
  }
  const at = onHeap(sharedHeap(), c, a, w.bytes, m, k, n, accumulate, rowStart, rowEnd);
  try {
    e.gemm(at.c, at.a, at.b, m, k, n, LAYOUT_CODES[layout], accumulate, alpha, rowStart, rowEnd, 0, n, QUANT_CODES[w.type]);
  } finally {
    at.release();
  }
}

/**
 * `C[m×n] (+)= alpha · op(A)·op(W)` with W quantised, on this thread (see {@link matmulQuantizedRows}).
 *
 * @example
 * const w = { type: 'Q8_0', rows: n, cols: k, bytes: quantize('Q8_0', weights) } as const;
 * matmulQuantized(y, x, w, 1, k, n, 'nt'); // y = x·Wᵀ
 */
export function matmulQuantized(c: Float32Array, a: Float32Array, w: QuantOperand, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate = false, alpha = 1): void {
  matmulQuantizedRows(c, a, w, m, k, n, layout, accumulate, alpha, 0, m);
}

/** This thread's engine where every array lies on the heap (the kernels take them in place), else undefined. */
function engineInPlace(arrays: readonly Float32Array[]): GemmEngine | undefined {
  const e = mainEngine(), heap = sharedHeap();
  return e && arrays.every((t) => heap.contains(t)) ? e : undefined;
}

/**
 * One row's LoRA update on this thread's kernels, y[0..out) += scale·B·(A·x), from A [r, in] and
 * the adapter's Bᵀ [r, out] (`u`: r floats of scratch). Returns false, doing nothing, where the
 * kernels cannot take it (no WebAssembly, an operand off the heap, widths not multiples of 4):
 * the caller then uses the matrix products.
 *
 * @example
 * if (!loraRow(y, x, a, bt, 576, 1536, 8, 2, u)) matmul(…);
 */
export function loraRow(y: Float32Array, x: Float32Array, a: Float32Array, bt: Float32Array, inDim: number, outDim: number, r: number, scale: number, u: Float32Array): boolean {
  const e = engineInPlace([y, x, a, bt, u]);
  if (!e || inDim % 4 !== 0 || outDim % 4 !== 0 || r < 1) return false;
  if (y.length < outDim || x.length < inDim || a.length < r * inDim || bt.length < r * outDim || u.length < r) throw new MatmulShapeError(`loraRow: operands too short for r=${r}, ${inDim} → ${outDim}`);
  e.loraRow(y.byteOffset, x.byteOffset, a.byteOffset, bt.byteOffset, inDim, outDim, r, scale, u.byteOffset);
  return true;
}

/**
 * Whether this thread's kernels take {@link loraRows} and {@link loraPrefetch} (the native kernels
 * are built).
 *
 * @example
 * const backend = createCpuBackend({ matmul, ...(loraRowsAvailable() ? { loraKernels: { onHeap: isShared, rows: loraRows, prefetch: loraPrefetch } } : {}) });
 */
export function loraRowsAvailable(): boolean {
  return mainEngine()?.loraRowsAvailable ?? false;
}

/**
 * A projection's rows laid out for the native kernels' {@link loraRows} and {@link loraPrefetch}:
 * `entries` holds n rows of [A's offset, Bᵀ's offset, rank, scale] ([−1, −1, 0, 0]: no adapter),
 * A [r, in] and Bᵀ [r, out] in half precision on the heap (the kernels check every row's bounds; the
 * CPU backend lays it out from its served adapters).
 */
export interface LoraTable {
  readonly n: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly entries: Float64Array;
}

/**
 * Every row's LoRA update in one call to this thread's native kernels, y[i] += s_i·B_i·(A_i·x[i])
 * for the rows of `table`, from factors in half precision: adjacent rows that share an adapter go
 * through two products together (SGMV), a row alone through the one-row kernel. Returns false,
 * doing nothing, where they cannot take it (y or x off the heap).
 *
 * @example
 * if (!loraRows(y, x, table)) groupedProducts();
 */
export function loraRows(y: Float32Array, x: Float32Array, table: LoraTable): boolean {
  const { n, inDim, outDim } = table;
  const e = engineInPlace([y, x]);
  if (!e) return false;
  if (y.length < n * outDim || x.length < n * inDim) throw new MatmulShapeError(`loraRows: y and x need ${n} rows of ${outDim} and ${inDim}`);
  return e.loraRows(y.byteOffset, x.byteOffset, n, inDim, outDim, table.entries);
}

/**
 * A hint that {@link loraRows} with this table follows the next products on this thread: the
 * native decode kernels pull the factors into cache while they compute (the base product is bound
 * by arithmetic, the factors' reads by memory). Changes no result.
 *
 * @example
 * loraPrefetch(table);
 * matmul(y, x, w, 16, 576, 1536, 'nt');
 * loraRows(y, x, table);
 */
export function loraPrefetch(table: LoraTable): void {
  mainEngine()?.loraPrefetch(table.n, table.inDim, table.outDim, table.entries);
}

/**
 * The gated MLP's activation on this thread's native kernels, out[0..n) = act(gate)·up with
 * act(x) = x·sigmoid(k·(x + c·x³)). Returns false, doing nothing, where they cannot take it (not
 * built, or an operand off the heap): the caller computes it itself.
 *
 * @example
 * if (!gated(out, gate, up, n, 1, 0)) for (let i = 0; i < n; i++) out[i] = silu(gate[i]) * up[i];
 */
export function gated(out: Float32Array, gate: Float32Array, up: Float32Array, n: number, k: number, c: number): boolean {
  const e = engineInPlace([out, gate, up]);
  if (!e || [out, gate, up].some((t) => t.length < n)) return false;
  return e.gated(out.byteOffset, gate.byteOffset, up.byteOffset, n, k, c);
}

/**
 * The backward of {@link gated} on the native kernels: dUp = dOut·act(gate), dGate = dOut·up·act′(gate).
 * Returns false, doing nothing, where they cannot take it.
 *
 * @example
 * if (!gatedBackward(dGate, dUp, dOut, gate, up, n, 1, 0)) computeInJs();
 */
export function gatedBackward(dGate: Float32Array, dUp: Float32Array, dOut: Float32Array, gate: Float32Array, up: Float32Array,
  n: number, k: number, c: number): boolean {
  const all = [dGate, dUp, dOut, gate, up], e = engineInPlace(all);
  if (!e || all.some((t) => t.length < n)) return false;
  return e.gatedBackward(dGate.byteOffset, dUp.byteOffset, dOut.byteOffset, gate.byteOffset, up.byteOffset, n, k, c);
}

/** Throws where an attention operand is shorter than its shape needs (the kernels would reach past it on the heap). */
function checkAttentionOperands(s: AttentionShape, operands: ReadonlyArray<[Float32Array, number, string]>): void {
  for (const [t, width, name] of operands) {
    if (t.length < s.B * s.S * width) throw new MatmulShapeError(`attention: ${name} has ${t.length} floats, the shape needs ${s.B * s.S * width}`);
  }
}

/**
 * Flash attention on this thread's native kernels: flash-attention.ts's `flashAttention`, the same
 * tiles, products and order in C. Returns false, doing nothing, where they cannot take it (not
 * built, or an operand off the heap): the caller runs flash-attention.ts.
 *
 * @example
 * if (!attention(out, lse, q, k, v, shape)) flashAttention(matmul, panel, out, lse, q, k, v, shape);
 */
export function attention(out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, s: AttentionShape): boolean {
  const e = engineInPlace([out, lse, q, k, v]);
  if (!e) return false;
  const qw = s.nH * s.hd, kw = s.nKV * s.hd;
  checkAttentionOperands(s, [[out, qw, 'out'], [lse, s.nH, 'lse'], [q, qw, 'q'], [k, kw, 'k'], [v, kw, 'v']]);
  return e.attention(out.byteOffset, lse.byteOffset, q.byteOffset, k.byteOffset, v.byteOffset, s);
}

/**
 * The backward of {@link attention} on the native kernels (`flashAttentionBackward`'s): dq, dk, dv
 * overwritten. Returns false, doing nothing, where they cannot take it.
 *
 * @example
 * if (!attentionBackward(dq, dk, dv, dOut, out, q, k, v, lse, shape)) flashAttentionBackward(matmul, panel, dq, dk, dv, dOut, out, q, k, v, lse, shape);
 */
export function attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dOut: Float32Array, out: Float32Array,
  q: Float32Array, k: Float32Array, v: Float32Array, lse: Float32Array, s: AttentionShape): boolean {
  const e = engineInPlace([dq, dk, dv, dOut, out, q, k, v, lse]);
  if (!e) return false;
  const qw = s.nH * s.hd, kw = s.nKV * s.hd;
  checkAttentionOperands(s, [[dq, qw, 'dq'], [dk, kw, 'dk'], [dv, kw, 'dv'], [dOut, qw, 'dOut'], [out, qw, 'out'], [q, qw, 'q'], [k, kw, 'k'], [v, kw, 'v'], [lse, s.nH, 'lse']]);
  return e.attentionBackward(dq.byteOffset, dk.byteOffset, dv.byteOffset, dOut.byteOffset, out.byteOffset, q.byteOffset, k.byteOffset, v.byteOffset, lse.byteOffset, s);
}

/** A paged attention call's shape: one query row per sequence over its cache blocks (see `Backend.pagedAttention`). */
export interface PagedShape {
  rows: number;
  nH: number;
  nKV: number;
  hd: number;
  blockSize: number;
  maxBlocks: number;
  scale: number;
  window: number;
}

/**
 * Decode's attention against the paged KV cache on this thread's native kernels (the CPU backend's
 * `pagedAttention`: each row's query heads over its sequence's visible positions, keys and values
 * read where the block tables put them). Returns false, doing nothing, where they cannot take it;
 * a block table naming a block outside the cache, or a length past its table, throws and writes nothing.
 *
 * @example
 * if (!pagedAttention(out, q, kCache, vCache, tables, lengths, shape)) computeInJs();
 */
export function pagedAttention(out: Float32Array, q: Float32Array, kCache: Float32Array, vCache: Float32Array, tables: Int32Array, lengths: Int32Array, s: PagedShape): boolean {
  const e = engineInPlace([out, q, kCache, vCache]);
  if (!e) return false;
  const width = s.rows * s.nH * s.hd;
  if (out.length < width || q.length < width) throw new MatmulShapeError(`pagedAttention: out and q need ${width} floats`);
  return e.pagedAttention(out.byteOffset, q.byteOffset, kCache.byteOffset, vCache.byteOffset, Math.min(kCache.length, vCache.length), tables, lengths, s);
}
