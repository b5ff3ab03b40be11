/**
 * Single-threaded matrix products for the CPU backend, in the layouts of `Backend.matmul`:
 * `nn` C[m×n] = A[m×k]·B[k×n]; `nt` C = A[m×k]·B[n×k]ᵀ (Linear forward, W stored [out, in]);
 * `tn` C = A[k×m]ᵀ·B[k×n] (weight gradients). They run the WebAssembly SIMD kernels in place on
 * arrays from `allocShared` (the shared heap); other arrays are copied onto the heap and back.
 * `matmul-pool.ts` splits the same work across threads.
 */
import type { MatmulLayout } from '../backend.ts';
import { sharedHeap } from './matmul-heap.ts';
import type { SharedHeap } from './matmul-heap.ts';
import { matmulRowsJs } from './matmul-js.ts';
import { GemmEngine, LAYOUT_CODES, kernelModule, scratchBytes, wasmKernelsAvailable } from './matmul-wasm.ts';

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
  for (const [name, v] of [['m', m], ['k', k], ['n', n]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new MatmulShapeError(`matmul: ${name} = ${v} is not a size`);
  }
  if (layout !== 'nn' && layout !== 'nt' && layout !== 'tn') throw new MatmulShapeError(`matmul: unknown layout '${String(layout)}'`);
  if (a.length < m * k) throw new MatmulShapeError(`matmul ${layout}: A has ${a.length} elements, needs ${m}×${k}`);
  if (b.length < k * n) throw new MatmulShapeError(`matmul ${layout}: B has ${b.length} elements, needs ${layout === 'nt' ? `${n}×${k}` : `${k}×${n}`}`);
  if (c.length < m * n) throw new MatmulShapeError(`matmul ${layout}: C has ${c.length} elements, needs ${m}×${n}`);
  if (!Number.isInteger(rowStart) || !Number.isInteger(rowEnd) || rowStart < 0 || rowEnd > m || rowStart > rowEnd) {
    throw new MatmulShapeError(`matmul: row range [${rowStart}, ${rowEnd}) outside [0, ${m})`);
  }
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
export function onHeap(heap: SharedHeap, c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
  accumulate: boolean, rowStart: number, rowEnd: number): { c: number; a: number; b: number; release: () => void } {
  const temps: number[] = [];
  const place = (x: Float32Array, length: number, copy: boolean): number => {
    if (heap.contains(x)) return x.byteOffset;
    const offset = heap.allocBytes(length * 4);
    temps.push(offset);
    if (copy) new Float32Array(heap.buffer(), offset, length).set(x.subarray(0, length));
    return offset;
  };
  const aOff = place(a, m * k, true), bOff = place(b, k * n, true);
  const cOnHeap = heap.contains(c);
  const cOff = cOnHeap ? c.byteOffset : place(c, m * n, false);
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
