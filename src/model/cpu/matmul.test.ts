import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { MatmulLayout } from '../backend.ts';
import { MatmulShapeError, matmul, matmulRows } from './matmul.ts';
import { NotAHeapBlockError, SharedHeap, allocShared, freeShared, isShared } from './matmul-heap.ts';
import { matmulRowsJs } from './matmul-js.ts';
import { sleb, uleb } from './wasm-emit.ts';

const LAYOUTS: MatmulLayout[] = ['nn', 'nt', 'tn'];

/** C (+)= alpha·op(A)·op(B) in float64, with a rounding-error bound per element: (k + 2)·2u·(Σ|a·b|·|alpha| + |c|). */
function reference(c0: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate: boolean, alpha: number): { value: Float64Array; bound: Float64Array } {
  const value = new Float64Array(m * n), bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, abs = 0;
      for (let p = 0; p < k; p++) {
        const x = (layout === 'tn' ? a[p * m + i]! : a[i * k + p]!) * (layout === 'nt' ? b[j * k + p]! : b[p * n + j]!);
        s += x;
        abs += Math.abs(x);
      }
      const prior = accumulate ? c0[i * n + j]! : 0;
      value[i * n + j] = prior + alpha * s;
      bound[i * n + j] = (k + 2) * 2 * 2 ** -24 * (abs * Math.abs(alpha) + Math.abs(prior)) + 1e-30;
    }
  }
  return { value, bound };
}

function filled(length: number, random: () => number, shared: boolean): Float32Array {
  const x = shared ? allocShared(length) : new Float32Array(length);
  for (let i = 0; i < length; i++) x[i] = random() * 2 - 1;
  return x;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Kernel = (c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate: boolean, alpha: number, rowStart: number, rowEnd: number) => void;

/** Runs `kernel` on rows [r0, r1) and checks them against the reference, and that other rows are untouched. */
function check(kernel: Kernel, m: number, k: number, n: number, layout: MatmulLayout, accumulate: boolean, alpha: number,
  shared: boolean, seed: number, r0 = 0, r1 = m): void {
  const random = seeded(seed);
  const a = filled(m * k, random, shared), b = filled(k * n, random, shared), c = filled(m * n, random, shared);
  const c0 = c.slice();
  const { value, bound } = reference(c0, a, b, m, k, n, layout, accumulate, alpha);
  kernel(c, a, b, m, k, n, layout, accumulate, alpha, r0, r1);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const q = i * n + j;
      if (i < r0 || i >= r1) {
        assert.equal(c[q], c0[q], `row ${i} outside the range changed`);
        continue;
      }
      const err = Math.abs(c[q]! - value[q]!);
      if (!(err <= bound[q]!)) {
        assert.fail(`${layout} m=${m} k=${k} n=${n} acc=${accumulate} alpha=${alpha} shared=${shared}: C[${i},${j}] = ${c[q]}, expected ${value[q]} (error ${err} > ${bound[q]})`);
      }
    }
  }
  if (shared) for (const x of [a, b, c]) freeShared(x);
}

const wasmKernel: Kernel = matmulRows;

const shapeArb = fc.record({
  m: fc.integer({ min: 1, max: 40 }),
  k: fc.integer({ min: 1, max: 40 }),
  n: fc.integer({ min: 1, max: 40 }),
  layout: fc.constantFrom(...LAYOUTS),
  accumulate: fc.boolean(),
  alpha: fc.constantFrom(1, -1, 0.5, 3, 0),
  shared: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

describe('matmul (WebAssembly SIMD kernels)', () => {
  it('matches a float64 triple loop for every layout, accumulate and alpha, on small shapes incl. 1', () => {
    fc.assert(fc.property(shapeArb, (s) => check(wasmKernel, s.m, s.k, s.n, s.layout, s.accumulate, s.alpha, s.shared, s.seed)), { numRuns: 400 });
  });

  it('matches on shapes across block and tile boundaries (k > kc, n > nc, odd sizes)', () => {
    for (const layout of LAYOUTS) {
      for (const [m, k, n] of [[97, 600, 1031], [13, 257, 9], [2, 1, 3000], [300, 3, 7], [7, 1000, 2]] as const) {
        check(wasmKernel, m, k, n, layout, true, 0.75, true, m + k + n);
      }
    }
  });

  it('matches on decode shapes (nt, up to 32 rows, k ≥ 64: W streamed row by row), n not a multiple of 4, heap or not', () => {
    for (const [m, k, n] of [[1, 64, 1], [1, 576, 1539], [2, 68, 6], [3, 1000, 7], [16, 96, 33], [32, 576, 130], [33, 96, 9], [5, 60, 11]] as const) {
      for (const shared of [true, false]) check(wasmKernel, m, k, n, 'nt', true, 0.5, shared, m * k + n);
      check(wasmKernel, m, k, n, 'nt', false, 1, true, m + n);
    }
  });

  it('matches on LoRA-like shapes with a tiny dimension (rank 8)', () => {
    for (const [layout, m, k, n] of [['nt', 200, 96, 8], ['nt', 200, 8, 96], ['nn', 200, 96, 8], ['nn', 200, 8, 96], ['tn', 96, 200, 8], ['tn', 8, 200, 96]] as const) {
      for (const shared of [true, false]) check(wasmKernel, m, k, n, layout, false, 1, shared, 7);
    }
  });

  it('computes only the rows of C in [rowStart, rowEnd)', () => {
    fc.assert(fc.property(shapeArb, fc.nat(), fc.nat(), (s, x, y) => {
      const r0 = x % (s.m + 1), r1 = r0 + (y % (s.m - r0 + 1));
      check(wasmKernel, s.m, s.k, s.n, s.layout, s.accumulate, s.alpha, s.shared, s.seed, r0, r1);
    }), { numRuns: 150 });
  });

  it('with k = 0 writes zeros, or leaves C as it was when accumulating', () => {
    for (const layout of LAYOUTS) {
      const c = allocShared(6).fill(5);
      matmul(c, allocShared(0), allocShared(0), 2, 0, 3, layout, true);
      assert.deepEqual([...c], [5, 5, 5, 5, 5, 5]);
      matmul(c, allocShared(0), allocShared(0), 2, 0, 3, layout);
      assert.deepEqual([...c], [0, 0, 0, 0, 0, 0]);
    }
  });

  it('works on plain (not shared) arrays and leaves them plain', () => {
    const a = new Float32Array([1, 2, 3, 4, 5, 6]), b = new Float32Array([1, 0, 0, 1, 1, 1]), c = new Float32Array(4);
    matmul(c, a, b, 2, 3, 2, 'nn');
    assert.deepEqual([...c], [4, 5, 10, 11]);
    assert.equal(isShared(c), false);
  });

  it('rejects operands that are too short, a bad layout and a bad row range with MatmulShapeError', () => {
    const x = new Float32Array(6);
    assert.throws(() => matmul(x, new Float32Array(5), x, 2, 3, 2, 'nn'), MatmulShapeError);
    assert.throws(() => matmul(x, x, new Float32Array(5), 2, 3, 2, 'nt'), MatmulShapeError);
    assert.throws(() => matmul(new Float32Array(3), x, x, 2, 3, 2, 'tn'), MatmulShapeError);
    assert.throws(() => matmul(x, x, x, 2, 3, 2, 'tt' as MatmulLayout), MatmulShapeError);
    assert.throws(() => matmul(x, x, x, 2.5, 3, 2, 'nn'), MatmulShapeError);
    assert.throws(() => matmulRows(x, x, x, 2, 3, 2, 'nn', false, 1, 1, 3), MatmulShapeError);
    assert.throws(() => matmulRows(x, x, x, 2, 3, 2, 'nn', false, 1, 2, 1), MatmulShapeError);
  });
});

describe('matmulRowsJs (pure JavaScript kernel)', () => {
  it('matches a float64 triple loop for every layout, accumulate and alpha', () => {
    fc.assert(fc.property(shapeArb, (s) => check(matmulRowsJs, s.m, s.k, s.n, s.layout, s.accumulate, s.alpha, false, s.seed)), { numRuns: 200 });
  });

  it('matches on shapes over its column block and on a row range', () => {
    for (const layout of LAYOUTS) check(matmulRowsJs, 23, 70, 301, layout, true, -0.5, false, 3, 5, 19);
  });
});

describe('shared heap', () => {
  it('hands out zeroed, 64-byte aligned arrays and reuses freed blocks', () => {
    const heap = new SharedHeap(1);
    const a = heap.alloc(10);
    a.fill(7);
    const b = heap.alloc(100_000); // grows the memory past its first page
    assert.equal(a.byteOffset % 64, 0);
    assert.equal(b.byteOffset % 64, 0);
    assert.ok(heap.contains(a) && heap.contains(b));
    const offset = a.byteOffset;
    heap.free(a);
    const c = heap.alloc(10);
    assert.equal(c.byteOffset, offset);
    assert.deepEqual([...c], new Array(10).fill(0));
    assert.equal(b[99_999], 0);
  });

  it('merges neighbouring free blocks and lowers its top', () => {
    const heap = new SharedHeap(1);
    const xs = [heap.alloc(16), heap.alloc(16), heap.alloc(16)];
    const used = heap.usedBytes;
    for (const x of [xs[1]!, xs[0]!, xs[2]!]) heap.free(x);
    assert.equal(heap.usedBytes, used - 3 * 64);
    assert.equal(heap.alloc(48).byteOffset, xs[0]!.byteOffset);
  });

  it('refuses double frees, views and foreign arrays with NotAHeapBlockError', () => {
    const x = allocShared(32);
    assert.throws(() => freeShared(x.subarray(0, 16)), NotAHeapBlockError);
    assert.throws(() => freeShared(new Float32Array(32)), NotAHeapBlockError);
    freeShared(x);
    assert.throws(() => freeShared(x), NotAHeapBlockError);
  });

  it('tells shared arrays (and views of them) from plain ones', () => {
    const x = allocShared(8);
    assert.equal(isShared(x), true);
    assert.equal(isShared(x.subarray(2)), true);
    assert.equal(isShared(new Float32Array(new SharedArrayBuffer(32))), false);
    freeShared(x);
  });
});

describe('wasm emitter', () => {
  it('encodes LEB128', () => {
    assert.deepEqual(uleb(0), [0]);
    assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
    assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
    assert.deepEqual(sleb(63), [0x3f]);
    assert.deepEqual(sleb(64), [0xc0, 0x00]);
    assert.deepEqual(sleb(-64), [0x40]);
  });
});
