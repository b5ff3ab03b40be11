import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dequantize, quantize } from '../ggml-quants.ts';
import type { QuantType } from '../ggml-quants.ts';
import { sharedHeap } from './matmul-heap.ts';
import { NATIVE_KERNELS_PATH, NativeKernelsUnavailableError, nativeKernels } from './matmul-native.ts';
import { MatmulPool, allocShared, freeShared } from './matmul-pool.ts';
import { QUANT_CODES } from './matmul-quant.ts';
import { MatmulShapeError, attention, attentionBackward, gated, gatedBackward, pagedAttention } from './matmul.ts';
import { flashAttention, flashAttentionBackward, type AttentionShape } from './flash-attention.ts';
import { naiveMatmul } from './naive-matmul.ts';
import { GemmEngine, kernelModule, scratchBytes } from './matmul-wasm.ts';
import { randomArray } from './random-array.test-util.ts';
import { float32ToHalf, halfToFloat32 } from '../safetensors.ts';

/** n random values as halves on the heap (loraRows' factors; free `storage`), and the values they hold. */
function randomHalves(n: number, seed: number): { bits: Uint16Array; values: Float32Array; storage: Float32Array } {
  const values = randomArray(n, seed), storage = allocShared(Math.ceil(n / 2));
  const bits = float32ToHalf(values, new Uint16Array(storage.buffer, storage.byteOffset, n));
  freeShared(values);
  return { bits, values: halfToFloat32(bits), storage };
}


const built = existsSync(NATIVE_KERNELS_PATH);
const skip = built ? false : `the native kernels are not built here (${NATIVE_KERNELS_PATH}: npm run build:kernels needs a C compiler)`;
const LAYOUTS = ['nn', 'nt', 'tn'] as const;

/** The native engine and the WebAssembly engine over the same heap. */
function engines(): { native: GemmEngine; wasm: GemmEngine } {
  const heap = sharedHeap();
  return {
    native: new GemmEngine(heap.memory, kernelModule(), heap.allocBytes(scratchBytes()), undefined, nativeKernels({ OPENLEDGER_KERNELS: 'native' })),
    wasm: new GemmEngine(heap.memory, kernelModule(), heap.allocBytes(scratchBytes()), undefined, null),
  };
}

/** op(A)·op(B) in float64 with |op(A)|·|op(B)| for error bounds. */
function exact(a: Float32Array, b: Float32Array, m: number, k: number, n: number, layout: number): { value: Float64Array; abs: Float64Array } {
  const value = new Float64Array(m * n), abs = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        const x = (layout === 2 ? a[p * m + i]! : a[i * k + p]!) * (layout === 1 ? b[j * k + p]! : b[p * n + j]!);
        s += x;
        t += Math.abs(x);
      }
      value[i * n + j] = s;
      abs[i * n + j] = t;
    }
  }
  return { value, abs };
}

/**
 * The 8-bit decode's model: each activation block as d·q (d = max|x|/127, q = round-half-even(x·127/max)),
 * C = before + alpha·Σ rounded·w in float64; `check(i, j, want, bound)` for every element, the bound
 * f32's rounding of the sums.
 */
function eightBitModel(a: Float32Array, w: Float32Array, before: Float32Array, alpha: number, m: number, k: number, n: number,
  check: (i: number, j: number, want: number, bound: number) => void): void {
  const rounded = new Float64Array(m * k);
  for (let b0 = 0; b0 < m * k; b0 += 32) {
    let amax = 0;
    for (let p = b0; p < b0 + 32; p++) amax = Math.max(amax, Math.abs(a[p]!));
    const d = Math.fround(amax / 127), id = amax > 0 ? Math.fround(127 / amax) : 0;
    for (let p = b0; p < b0 + 32; p++) {
      const v = Math.fround(a[p]! * id), q = Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v);
      rounded[p] = d * Math.max(-127, Math.min(127, q));
    }
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0, t = 0;
      for (let p = 0; p < k; p++) {
        s += rounded[i * k + p]! * w[j * k + p]!;
        t += Math.abs(rounded[i * k + p]! * w[j * k + p]!);
      }
      const q = i * n + j;
      check(i, j, before[q]! + alpha * s, (k / 32 + 4) * 2 ** -23 * (alpha * t + Math.abs(before[q]!)) + 1e-30);
    }
  }
}

describe('native kernels', { skip }, () => {
  it('say what they were built for, and OPENLEDGER_KERNELS chooses them', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    assert.match(native.features(), /^(avx2 fma f16c|portable)(, GEMM by OpenBLAS .+)?$/);
    assert.equal(nativeKernels({ OPENLEDGER_KERNELS: 'wasm' }), undefined);
    assert.equal(nativeKernels({}), native);
    assert.throws(() => nativeKernels({ OPENLEDGER_KERNELS: 'gpu' }), NativeKernelsUnavailableError);
    assert.equal(engines().native.kernels, `native (${native.features()})`);
    assert.equal(engines().wasm.kernels, 'wasm');
  });

  /** Runs `check` on the addon's own GEMM, then on OpenBLAS's where the addon found it. */
  function eachGemm(check: (gemm: string) => void): void {
    const kernels = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const withBlas = kernels.useBlas(true);
    try {
      for (const blas of withBlas ? [false, true] : [false]) {
        kernels.useBlas(blas);
        check(blas ? 'OpenBLAS' : 'own');
      }
    } finally {
      kernels.useBlas(withBlas);
    }
  }

  it('gemm (own and OpenBLAS): every layout, row and column range, accumulate and alpha, against float64 and the WebAssembly engine', () => eachGemm((gemm) => {
    const { native, wasm } = engines();
    fc.assert(fc.property(
      fc.record({
        // m across the decode (≤ 32 rows, nt) and packed paths; k and n across the tile and block edges
        m: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 140, max: 160 })),
        k: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 250, max: 270 })),
        n: fc.integer({ min: 1, max: 70 }),
        layout: fc.integer({ min: 0, max: 2 }),
        accumulate: fc.boolean(),
        alpha: fc.constantFrom(1, -0.5, 3),
        cut: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
          fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
        seed: fc.integer({ min: 1, max: 1e6 }),
      }),
      ({ m, k, n, layout, accumulate, alpha, cut, seed }) => {
        const [ra, rb] = [Math.floor(cut[0] * m), Math.floor(cut[1] * m)].sort((x, y) => x - y) as [number, number];
        const [ca, cb] = [Math.floor(cut[2] * n), Math.floor(cut[3] * n)].sort((x, y) => x - y) as [number, number];
        const r0 = ra, r1 = Math.max(rb, ra + 1), c0 = ca, c1 = Math.max(cb, ca + 1);
        const a = randomArray(m * k, seed), b = randomArray(k * n, seed + 1), c = randomArray(m * n, seed + 2), cw = allocShared(m * n);
        cw.set(c);
        const before = c.slice();
        const { value, abs } = exact(a, b, m, k, n, layout);
        native.gemm(c.byteOffset, a.byteOffset, b.byteOffset, m, k, n, layout as 0 | 1 | 2, accumulate, alpha, r0, r1, c0, c1);
        wasm.gemm(cw.byteOffset, a.byteOffset, b.byteOffset, m, k, n, layout as 0 | 1 | 2, accumulate, alpha, r0, r1, c0, c1);
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const q = i * n + j;
            if (i < r0 || i >= r1 || j < c0 || j >= c1) {
              assert.equal(c[q], before[q], `C[${i},${j}] outside the range changed`);
              continue;
            }
            const prior = accumulate ? before[q]! : 0, want = prior + alpha * value[q]!;
            const bound = (k + 2) * 2 * 2 ** -24 * (Math.abs(alpha) * abs[q]! + Math.abs(prior)) + 1e-30;
            assert.ok(Math.abs(c[q]! - want) <= bound, `${gemm} ${LAYOUTS[layout]} m=${m} k=${k} n=${n}: C[${i},${j}] = ${c[q]}, want ${want} ± ${bound}`);
            assert.ok(Math.abs(c[q]! - cw[q]!) <= 2 * bound, `native and WebAssembly differ at C[${i},${j}]`);
          }
        }
        for (const x of [a, b, c, cw]) freeShared(x);
      }), { numRuns: 60, seed: 20261207 });
  }));

  it('gemm (own and OpenBLAS): C is written, never read, without accumulate (NaN in C does not leak)', () => eachGemm((gemm) => {
    const { native } = engines();
    for (const [m, layout] of [[1, 1], [20, 1], [50, 0], [50, 2]] as const) {
      const k = 37, n = 29, a = randomArray(m * k, 3), b = randomArray(k * n, 4), c = allocShared(m * n).fill(Number.NaN);
      native.gemm(c.byteOffset, a.byteOffset, b.byteOffset, m, k, n, layout, false, 1, 0, m, 0, n);
      assert.ok(c.every(Number.isFinite), `${gemm} m=${m} layout=${layout}`);
      for (const x of [a, b, c]) freeShared(x);
    }
  }));

  it('an empty sum (k = 0) sets C to zero, or leaves it when accumulating, as the WebAssembly engine does', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const c = randomArray(12, 41), a = randomArray(4, 42), before = c.slice();
    const bytes = new Uint8Array(sharedHeap().memory.buffer);
    native.gemm(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 3, 0, 4, 0, 1, 1, 0, 3, 0, 4);
    native.decodeQuant(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 1, 3, 0, 4, 1, 1, 0, 3, 0, 4);
    assert.deepEqual(c, before);
    native.gemm(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 3, 0, 4, 1, 0, 1, 1, 2, 0, 4);
    native.decodeQuant(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 2, 3, 0, 4, 0, 1, 2, 3, 1, 3);
    assert.deepEqual([...c], [...before.slice(0, 4), 0, 0, 0, 0, before[8], 0, 0, before[11]]);
    for (const x of [a, c]) freeShared(x);
  });

  for (const type of ['Q8_0', 'Q4_0'] as const satisfies readonly QuantType[]) {
    it(`decode against ${type} blocks equals the 8-bit rounding model, and the WebAssembly integer path`, () => {
      const { native, wasm } = engines();
      // one row (the pair kernel), 2–16 rows (eight rows of W side by side), columns not multiples of 8
      for (const [m, k, n] of [[1, 64, 40], [2, 96, 9], [5, 576, 33], [16, 256, 17]] as const) {
        const bytes = quantize(type, randomArray(n * k, 7, false));
        const wBlock = allocShared(Math.ceil(bytes.length / 4));
        new Uint8Array(wBlock.buffer, wBlock.byteOffset, bytes.length).set(bytes);
        const w = dequantize(type, bytes, n * k);
        const a = randomArray(m * k, 11);
        a[k - 1] = 30; // an outlier: its block's other values round coarsely
        const c = randomArray(m * n, 12), cw = allocShared(m * n);
        cw.set(c);
        const before = c.slice();
        native.gemm(c.byteOffset, a.byteOffset, wBlock.byteOffset, m, k, n, 1, true, 0.5, 0, m, 0, n, QUANT_CODES[type]);
        wasm.gemm(cw.byteOffset, a.byteOffset, wBlock.byteOffset, m, k, n, 1, true, 0.5, 0, m, 0, n, QUANT_CODES[type]);
        eightBitModel(a, w, before, 0.5, m, k, n, (i, j, want, bound) => {
          const q = i * n + j;
          assert.ok(Math.abs(c[q]! - want) <= bound, `${type} m=${m} k=${k}: C[${i},${j}] = ${c[q]}, want ${want} ± ${bound}`);
          assert.ok(Math.abs(c[q]! - cw[q]!) <= 2 * bound, `${type}: native ${c[q]} and WebAssembly ${cw[q]} differ at C[${i},${j}]`);
        });
        for (const x of [wBlock, a, c, cw]) freeShared(x);
      }
    });
  }

  it('decodeQuant past 16 rows (two passes of the eight-rows kernel), and Q8_0 weights of −128 (never written by ggml\'s quantiser; legal in a file): the 8-bit rounding model', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const heap = new Uint8Array(sharedHeap().memory.buffer);
    for (const type of ['Q8_0', 'Q4_0'] as const) {
      for (const [m, k, n] of [[20, 64, 12], [3, 96, 8], [1, 64, 5]] as const) {
        const bytes = quantize(type, randomArray(n * k, 8, false));
        if (type === 'Q8_0') for (let blk = 0; blk < (n * k) / 32; blk++) bytes[blk * 34 + 2 + (blk % 32)] = 0x80;
        const wBlock = allocShared(Math.ceil(bytes.length / 4));
        new Uint8Array(wBlock.buffer, wBlock.byteOffset, bytes.length).set(bytes);
        const a = randomArray(m * k, 13), c = allocShared(m * n);
        native.decodeQuant(heap, c.byteOffset, a.byteOffset, wBlock.byteOffset, QUANT_CODES[type], m, k, n, 0, 1, 0, m, 0, n);
        eightBitModel(a, dequantize(type, bytes, n * k), new Float32Array(m * n), 1, m, k, n, (i, j, want, bound) =>
          assert.ok(Math.abs(c[i * n + j]! - want) <= bound, `${type} m=${m}: C[${i},${j}] = ${c[i * n + j]}, want ${want} ± ${bound}`));
        for (const x of [wBlock, a, c]) freeShared(x);
      }
    }
  });

  it('loraRows: every row its adapter or none in one call (shared adapters through the products), factors in half precision, and every row checked before any is written', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const bytes = new Uint8Array(sharedHeap().memory.buffer), end = bytes.length;
    const inDim = 44, outDim = 40, n = 5, ranks = [11, 2]; // a rank past one group of eight; widths past whole vectors
    const Ah = ranks.map((r, j) => randomHalves(r * inDim, 40 + j)), Bth = ranks.map((r, j) => randomHalves(r * outDim, 50 + j));
    const As = Ah.map((h) => h.bits), Bts = Bth.map((h) => h.bits), Av = Ah.map((h) => h.values), Btv = Bth.map((h) => h.values);
    const x = randomArray(n * inDim, 60), y = randomArray(n * outDim, 61), before = y.slice();
    const assignment = [0, 0, -1, 1, 0]; // two adjacent rows share adapter 0, one has none
    const table = Float64Array.from(assignment.flatMap((j) => (j < 0 ? [-1, -1, 0, 0] : [As[j]!.byteOffset, Bts[j]!.byteOffset, ranks[j]!, 0.5 + j])));
    native.loraRows(bytes, y.byteOffset, x.byteOffset, n, inDim, outDim, table);
    assignment.forEach((j, i) => {
      for (let o = 0; o < outDim; o++) {
        let want = before[i * outDim + o]!;
        if (j >= 0) for (let t = 0; t < ranks[j]!; t++) {
          let u = 0;
          for (let p = 0; p < inDim; p++) u += Av[j]![t * inDim + p]! * x[i * inDim + p]!;
          want += (0.5 + j) * u * Btv[j]![t * outDim + o]!;
        }
        assert.ok(Math.abs(y[i * outDim + o]! - want) < 1e-4, `row ${i} [${o}]: ${y[i * outDim + o]}, want ${want}`);
      }
    });
    const refused = (t: Float64Array | number[], code: string, rows = n) => {
      const kept = y.slice();
      assert.throws(() => (native.loraRows as unknown as (...a: unknown[]) => void)(bytes, y.byteOffset, x.byteOffset, rows, inDim, outDim, t), (err: NodeJS.ErrnoException) => err.code === code);
      assert.deepEqual(y, kept, 'a refused call wrote');
    };
    const bad = (row: number, entry: number[]) => { const t = table.slice(); t.set(entry, 4 * row); return t; };
    refused(bad(4, [end - 8, Bts[0]!.byteOffset, 8, 1]), 'ERR_NATIVE_KERNEL_BOUNDS'); // the last row's A past the heap: nothing written, not even rows 0–3
    refused(bad(1, [As[0]!.byteOffset + 1, Bts[0]!.byteOffset, 8, 1]), 'ERR_NATIVE_KERNEL_BOUNDS'); // halves at an odd byte
    refused(bad(1, [As[0]!.byteOffset, end - 2 * 8 * outDim + 2, 8, 1]), 'ERR_NATIVE_KERNEL_BOUNDS'); // Bᵀ's last half past the heap
    refused(bad(1, [As[0]!.byteOffset, Bts[0]!.byteOffset, 0, 1]), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(bad(1, [As[0]!.byteOffset, Bts[0]!.byteOffset, 8, Number.NaN]), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(table.subarray(0, 4 * n - 1), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(Array.from(table), 'ERR_NATIVE_KERNEL_ARGS');
    refused(table, 'ERR_NATIVE_KERNEL_SHAPE', n + 1); // more rows than the table holds
    assert.throws(() => native.loraRows(bytes, end - 8, x.byteOffset, n, inDim, outDim, table), (err: NodeJS.ErrnoException) => err.code === 'ERR_NATIVE_KERNEL_BOUNDS');
    for (const t of [...Ah, ...Bth]) freeShared(t.storage);
    for (const t of [x, y]) freeShared(t);
  });

  it('loraPrefetch: a hint that changes no bits of the 16-row product it rides on nor of loraRows after it, its table checked as loraRows checks it', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const bytes = new Uint8Array(sharedHeap().memory.buffer), end = bytes.length;
    const inDim = 96, outDim = 72, n = 16, ranks = [8, 4, 8];
    const Ah = ranks.map((r, j) => randomHalves(r * inDim, 70 + j)), Bth = ranks.map((r, j) => randomHalves(r * outDim, 80 + j));
    const As = Ah.map((h) => h.bits), Bts = Bth.map((h) => h.bits);
    const x = randomArray(n * inDim, 90), w = randomArray(outDim * inDim, 91);
    const assignment = [0, 1, 2, 2, -1, 0, 1, 2, 0, 0, 0, 1, -1, 2, 1, 0]; // shared, alone and none
    const table = Float64Array.from(assignment.flatMap((j) => (j < 0 ? [-1, -1, 0, 0] : [As[j]!.byteOffset, Bts[j]!.byteOffset, ranks[j]!, 0.5 + j])));
    // y = x·Wᵀ through the 16-row decode kernel (the one that reads the plan), then every row's update
    const step = (y: Float32Array, prefetch: boolean) => {
      if (prefetch) native.loraPrefetch(bytes, n, inDim, outDim, table);
      native.gemm(bytes, y.byteOffset, x.byteOffset, w.byteOffset, n, inDim, outDim, 1, 0, 1, 0, n, 0, outDim);
      native.loraRows(bytes, y.byteOffset, x.byteOffset, n, inDim, outDim, table);
    };
    const plain = allocShared(n * outDim), hinted = allocShared(n * outDim), product = allocShared(n * outDim);
    step(plain, false);
    step(hinted, true);
    assert.deepEqual(hinted, plain);
    // a plan no loraRows ended (still this thread's) changes no later product either
    native.loraPrefetch(bytes, n, inDim, outDim, table);
    native.gemm(bytes, product.byteOffset, x.byteOffset, w.byteOffset, n, inDim, outDim, 1, 0, 1, 0, n, 0, outDim);
    native.gemm(bytes, hinted.byteOffset, x.byteOffset, w.byteOffset, n, inDim, outDim, 1, 0, 1, 0, n, 0, outDim);
    assert.deepEqual(hinted, product);
    const refused = (t: Float64Array | number[], code: string, rows = n) =>
      assert.throws(() => (native.loraPrefetch as unknown as (...a: unknown[]) => void)(bytes, rows, inDim, outDim, t), (err: NodeJS.ErrnoException) => err.code === code);
    const bad = (row: number, entry: number[]) => { const t = table.slice(); t.set(entry, 4 * row); return t; };
    refused(bad(15, [end - 8, Bts[0]!.byteOffset, 8, 1]), 'ERR_NATIVE_KERNEL_BOUNDS'); // a factor past the heap is never prefetched
    refused(bad(1, [As[0]!.byteOffset, end - 4, 8, 1]), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(bad(1, [As[0]!.byteOffset, Bts[0]!.byteOffset, 0, 1]), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(table.subarray(0, 4 * n - 1), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(Array.from(table), 'ERR_NATIVE_KERNEL_ARGS');
    for (const t of [...Ah, ...Bth]) freeShared(t.storage);
    for (const t of [x, w, plain, hinted, product]) freeShared(t);
  });

  it('the gated activation and its backward (SiLU and tanh-GELU) equal float64 to f32 rounding, far into both tails', () => {
    const n = 1003; // not a multiple of 8: the tail runs the scalar code
    const gate = allocShared(n), up = randomArray(n, 31), dOut = randomArray(n, 32);
    const xs = [0, -0, 1e-30, -1e-30, 88, -88, 100, -100, 1e4, -1e4, 1e30, -1e30];
    for (let i = 0; i < n; i++) gate[i] = i < xs.length ? xs[i]! : (i - n / 2) / 40;
    const out = allocShared(n), dGate = allocShared(n), dUp = allocShared(n);
    for (const [name, k, c] of [['SiLU', 1, 0], ['tanh-GELU', 2 * Math.sqrt(2 / Math.PI), 0.044715]] as const) {
      assert.ok(gated(out, gate, up, n, k, c) && gatedBackward(dGate, dUp, dOut, gate, up, n, k, c), 'the native kernels took them');
      for (let i = 0; i < n; i++) {
        const x = gate[i]!, z = k * (x + c * x * x * x), s = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        const act = x * s, tail = x * s * (1 - s) * k * (1 + 3 * c * x * x), slope = s + tail;
        // relative to the terms' magnitudes (the slope's two terms cancel near its zero), plus z's own
        // f32 rounding carried through e^z (|z|·2⁻²⁴ relative; the JavaScript path computes z in float64)
        const rel = 4e-6 + 4 * Math.min(Math.abs(z), 1e4) * 2 ** -24;
        const close = (got: number, want: number, magnitude: number, what: string) => {
          assert.ok(Math.abs(got - want) <= rel * magnitude + 1e-30, `${name} ${what}(${x}) = ${got}, want ${want}`);
        };
        close(out[i]!, act * up[i]!, Math.abs(act * up[i]!), 'out');
        close(dUp[i]!, dOut[i]! * act, Math.abs(dOut[i]! * act), 'dUp');
        close(dGate[i]!, dOut[i]! * up[i]! * slope, Math.abs(dOut[i]! * up[i]!) * (Math.abs(s) + Math.abs(tail)), 'dGate');
      }
    }
    for (const x of [gate, up, dOut, out, dGate, dUp]) freeShared(x);
  });

  it('attention and its backward equal flash-attention.ts to f32 rounding: any shape, window, group and head width', () => {
    const panels = new Map<string, Float32Array>();
    const panel = (name: string, n: number) => {
      if ((panels.get(name)?.length ?? -1) < n) panels.set(name, new Float32Array(n));
      return panels.get(name)!;
    };
    fc.assert(fc.property(
      fc.record({ B: fc.integer({ min: 0, max: 2 }), S: fc.integer({ min: 1, max: 260 }), nKV: fc.integer({ min: 1, max: 2 }), group: fc.integer({ min: 1, max: 3 }),
        hd: fc.integer({ min: 1, max: 40 }), scale: fc.double({ min: 0.05, max: 1, noNaN: true }), window: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 })), seed: fc.nat() }),
      ({ B, S, nKV, group, hd, scale, window, seed }) => {
        const s: AttentionShape = { B, S, nH: nKV * group, nKV, hd, scale, window };
        const qn = B * S * s.nH * hd, kn = B * S * nKV * hd, ln = B * s.nH * S;
        const q = randomArray(qn, seed), k = randomArray(kn, seed + 1), v = randomArray(kn, seed + 2), dOut = randomArray(qn, seed + 3);
        const got = [allocShared(qn), allocShared(ln), allocShared(qn), allocShared(kn), allocShared(kn)]; // out lse dq dk dv
        for (const t of got) t.fill(Number.NaN); // every output must be written
        const want = [new Float32Array(qn), new Float32Array(ln), new Float32Array(qn), new Float32Array(kn), new Float32Array(kn)];
        assert.ok(attention(got[0]!, got[1]!, q, k, v, s) && attentionBackward(got[2]!, got[3]!, got[4]!, dOut, got[0]!, q, k, v, got[1]!, s), 'the native kernels took them');
        flashAttention(naiveMatmul, panel, want[0]!, want[1]!, q, k, v, s);
        flashAttentionBackward(naiveMatmul, panel, want[2]!, want[3]!, want[4]!, dOut, want[0]!, q, k, v, want[1]!, s);
        ['out', 'lse', 'dq', 'dk', 'dv'].forEach((name, i) => {
          const top = want[i]!.reduce((m, x) => Math.max(m, Math.abs(x)), 1);
          want[i]!.forEach((x, j) => assert.ok(Math.abs(got[i]![j]! - x) <= 2e-5 * top, `${name}[${j}] = ${got[i]![j]}, flash-attention.ts ${x} (${JSON.stringify(s)})`));
        });
        for (const t of [q, k, v, dOut, ...got]) freeShared(t);
      }), { numRuns: 40 });
  });

  it('attention refuses operands outside the heap or too short for the shape, and impossible shapes, writing nothing', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const bytes = new Uint8Array(sharedHeap().memory.buffer), end = bytes.length;
    const s: AttentionShape = { B: 1, S: 4, nH: 2, nKV: 1, hd: 8, scale: 0.5, window: 0 };
    const q = randomArray(64, 1), kv = randomArray(32, 2), out = randomArray(64, 3), lse = randomArray(8, 4), before = out.slice();
    const refused = (f: () => void, code: string) => assert.throws(f, (err: NodeJS.ErrnoException) => err.code === code);
    const forward = (o: number, shape: Partial<AttentionShape> = {}) => {
      const t = { ...s, ...shape };
      native.attention(bytes, o, lse.byteOffset, q.byteOffset, kv.byteOffset, kv.byteOffset, t.B, t.S, t.nH, t.nKV, t.hd, t.scale, t.window);
    };
    refused(() => forward(end - 16), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => forward(out.byteOffset + 2), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => forward(out.byteOffset, { B: 2 ** 20 }), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => forward(out.byteOffset, { nH: 3, nKV: 2 }), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => forward(out.byteOffset, { S: 0 }), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => forward(out.byteOffset, { nKV: 0 }), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => forward(out.byteOffset, { scale: Number.NaN }), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => forward(out.byteOffset, { window: -1 }), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => forward(out.byteOffset, { hd: 1.5 }), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.attentionBackward(bytes, out.byteOffset, kv.byteOffset, kv.byteOffset, q.byteOffset, q.byteOffset, q.byteOffset, kv.byteOffset, kv.byteOffset, end - 4, 1, 4, 2, 1, 8, 0.5, 0), 'ERR_NATIVE_KERNEL_BOUNDS');
    // the heap holds more than the tensor: matmul.ts checks each operand's own length
    assert.throws(() => attention(out, lse, q, kv.subarray(0, 31), kv, s), MatmulShapeError);
    assert.throws(() => attentionBackward(out, kv, kv, q, q, q, kv, kv, lse.subarray(0, 7), s), MatmulShapeError);
    assert.deepEqual(out, before);
    for (const t of [q, kv, out, lse]) freeShared(t);
  });

  it('pagedAttention equals float64 attention over each row\'s visible positions, wherever its blocks lie', () => {
    fc.assert(fc.property(
      fc.record({ rows: fc.integer({ min: 1, max: 5 }), nKV: fc.integer({ min: 1, max: 2 }), group: fc.integer({ min: 1, max: 6 }), hd: fc.integer({ min: 1, max: 72 }),
        blockSize: fc.integer({ min: 1, max: 8 }), window: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })), seed: fc.nat() }),
      ({ rows, nKV, group, hd, blockSize, window, seed }) => {
        const nH = nKV * group, kvd = nKV * hd, maxBlocks = 4, blocks = rows * maxBlocks, scale = 0.3;
        const rand = randomArray(rows + blocks, seed + 9, false);
        // every row its own shuffled blocks; lengths 0 … the whole table
        const order = Array.from({ length: blocks }, (_, i) => i).sort((x, y) => rand[rows + x]! - rand[rows + y]!);
        const tables = Int32Array.from(order), lengths = Int32Array.from({ length: rows }, (_, i) => Math.floor(Math.abs(rand[i]!) * 1e6) % (maxBlocks * blockSize + 1));
        const q = randomArray(rows * nH * hd, seed), kc = randomArray(blocks * blockSize * kvd, seed + 1), vc = randomArray(blocks * blockSize * kvd, seed + 2);
        const out = allocShared(rows * nH * hd).fill(Number.NaN);
        assert.ok(pagedAttention(out, q, kc, vc, tables, lengths, { rows, nH, nKV, hd, blockSize, maxBlocks, scale, window }));
        for (let i = 0; i < rows; i++) {
          const n = lengths[i]!, first = window > 0 ? Math.max(0, n - window) : 0;
          const slot = (p: number) => (tables[i * maxBlocks + Math.floor(p / blockSize)]! * blockSize + (p % blockSize)) * kvd;
          for (let h = 0; h < nH; h++) {
            const g = Math.floor(h / group), qo = (i * nH + h) * hd;
            const scores = Array.from({ length: n - first }, (_, t) => {
              let dot = 0;
              for (let d = 0; d < hd; d++) dot += q[qo + d]! * kc[slot(first + t) + g * hd + d]!;
              return scale * dot;
            });
            const max = Math.max(...scores), weights = scores.map((x) => Math.exp(x - max)), sum = weights.reduce((a, b) => a + b, 0);
            for (let d = 0; d < hd; d++) {
              let want = 0;
              weights.forEach((w, t) => { want += (w / sum) * vc[slot(first + t) + g * hd + d]!; });
              assert.ok(Math.abs(out[qo + d]! - want) <= 1e-5, `row ${i} head ${h} [${d}]: ${out[qo + d]}, want ${want} (length ${n})`);
            }
          }
        }
        for (const t of [q, kc, vc, out]) freeShared(t);
      }), { numRuns: 60 });
  });

  it('pagedAttention refuses block tables that leave the cache, lengths past their table, and bad arguments, writing nothing', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const bytes = new Uint8Array(sharedHeap().memory.buffer);
    const rows = 2, nH = 2, nKV = 1, hd = 8, blockSize = 4, maxBlocks = 2, kvd = nKV * hd, cacheFloats = 4 * blockSize * kvd; // 4 blocks
    const q = randomArray(rows * nH * hd, 1), kc = randomArray(cacheFloats, 2), vc = randomArray(cacheFloats, 3), out = randomArray(rows * nH * hd, 4), before = out.slice();
    const refused = (tables: unknown, lengths: unknown, code: string, extra: Partial<{ cacheFloats: number; rows: number }> = {}) => assert.throws(() =>
      (native.pagedAttention as unknown as (...a: unknown[]) => void)(bytes, out.byteOffset, q.byteOffset, kc.byteOffset, vc.byteOffset, extra.rows ?? rows, nH, nKV, hd, blockSize, maxBlocks, 0.5, 0,
        extra.cacheFloats ?? cacheFloats, tables, lengths), (err: NodeJS.ErrnoException) => err.code === code);
    refused(Int32Array.of(0, 1, 2, 4), Int32Array.of(3, 8), 'ERR_NATIVE_KERNEL_BOUNDS'); // block 4 of 4
    refused(Int32Array.of(0, 1, -1, 3), Int32Array.of(3, 8), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(Int32Array.of(0, 1, 2, 3), Int32Array.of(3, 9), 'ERR_NATIVE_KERNEL_BOUNDS'); // 9 tokens, 8 in the table
    refused(Int32Array.of(0, 1, 2, 3), Int32Array.of(3, -1), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(Int32Array.of(0, 1, 2, 3), Int32Array.of(3, 8), 'ERR_NATIVE_KERNEL_BOUNDS', { cacheFloats: 3 * blockSize * kvd }); // block 3 past a smaller cache
    refused(Int32Array.of(0, 1, 2, 3), Int32Array.of(3, 8), 'ERR_NATIVE_KERNEL_BOUNDS', { cacheFloats: 2 ** 30 }); // a cache past the heap
    refused(Int32Array.of(0, 1, 2), Int32Array.of(3, 8), 'ERR_NATIVE_KERNEL_SHAPE'); // a table short
    refused(Int32Array.of(0, 1, 2, 3), Int32Array.of(3), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(Float32Array.of(0, 1, 2, 3), Int32Array.of(3, 8), 'ERR_NATIVE_KERNEL_ARGS');
    refused([0, 1, 2, 3], Int32Array.of(3, 8), 'ERR_NATIVE_KERNEL_ARGS');
    assert.deepEqual(out, before);
    // the tables are read where they lie: a block inside the cache is used as it is
    native.pagedAttention(bytes, out.byteOffset, q.byteOffset, kc.byteOffset, vc.byteOffset, rows, nH, nKV, hd, blockSize, maxBlocks, 0.5, 0, cacheFloats, Int32Array.of(3, 2, 1, 0), Int32Array.of(3, 8));
    assert.ok(out.every(Number.isFinite));
    assert.throws(() => pagedAttention(out.subarray(0, 8), q, kc, vc, Int32Array.of(0, 1, 2, 3), Int32Array.of(3, 8), { rows, nH, nKV, hd, blockSize, maxBlocks, scale: 0.5, window: 0 }), MatmulShapeError);
    for (const t of [q, kc, vc, out]) freeShared(t);
  });

  it('leave a worker thread that used them free to exit: its scratch is freed by its environment, not at thread exit', () => {
    // the worker loads the addon, runs products that take per-thread scratch (the wide f32 decode,
    // an 8-bit decode), and exits; a thread-exit destructor would run after the addon is unloaded
    const worker = `const k = require(${JSON.stringify(NATIVE_KERNELS_PATH)});
      const heap = new Uint8Array(1 << 20);
      k.gemm(heap, 0, 65536, 131072, 16, 64, 32, 1, 0, 1, 0, 16, 0, 32);
      k.decodeQuant(heap, 0, 65536, 131072, 1, 4, 64, 8, 0, 1, 0, 4, 0, 8);`;
    const main = `const { Worker } = require('node:worker_threads');
      let left = 3;
      const next = () => { if (left-- > 0) new Worker(${JSON.stringify(worker)}, { eval: true }).on('exit', next).on('error', (e) => { console.error(e); process.exit(2); }); };
      next();`;
    const run = spawnSync(process.execPath, ['-e', main], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.signal, null, `the process died of ${run.signal}: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
  });

  it('refuse operands outside the heap, bad ranges and bad arguments, and write nothing then', () => {
    const native = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!;
    const heap = sharedHeap(), bytes = new Uint8Array(heap.memory.buffer);
    const c = randomArray(16, 5), before = c.slice(), a = randomArray(16, 6);
    const end = bytes.length;
    const refused = (f: () => void, code: string) => assert.throws(f, (err: NodeJS.ErrnoException) => err.code === code);
    // C, A or B reaching past the heap's end; a misaligned C
    refused(() => native.gemm(bytes, end - 32, a.byteOffset, a.byteOffset, 4, 4, 4, 0, 0, 1, 0, 4, 0, 4), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => native.gemm(bytes, c.byteOffset, end - 8, a.byteOffset, 4, 4, 4, 0, 0, 1, 0, 4, 0, 4), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => native.gemm(bytes, c.byteOffset, a.byteOffset, 2 ** 40, 4, 4, 4, 0, 0, 1, 0, 4, 0, 4), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => native.gemm(bytes, c.byteOffset + 1, a.byteOffset, a.byteOffset, 2, 2, 2, 0, 0, 1, 0, 2, 0, 2), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => native.gemm(bytes, -4, a.byteOffset, a.byteOffset, 2, 2, 2, 0, 0, 1, 0, 2, 0, 2), 'ERR_NATIVE_KERNEL_BOUNDS');
    // a view that starts inside the heap cannot reach before its start
    refused(() => native.gemm(bytes.subarray(end - 64), 0, 0, 0, 5, 5, 5, 0, 0, 1, 0, 5, 0, 5), 'ERR_NATIVE_KERNEL_BOUNDS');
    // ranges outside C, unknown layouts, sizes that are not sizes
    refused(() => native.gemm(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 4, 4, 4, 0, 0, 1, 0, 5, 0, 4), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.gemm(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 4, 4, 4, 0, 0, 1, 3, 2, 0, 4), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.gemm(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 4, 4, 4, 3, 0, 1, 0, 4, 0, 4), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.gemm(bytes, c.byteOffset, a.byteOffset, a.byteOffset, Number.NaN, 4, 4, 0, 0, 1, 0, 4, 0, 4), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.gemm(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 2.5, 4, 4, 0, 0, 1, 0, 2, 0, 4), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.decodeQuant(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 3, 1, 32, 1, 0, 1, 0, 1, 0, 1), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.decodeQuant(bytes, c.byteOffset, a.byteOffset, a.byteOffset, 1, 1, 48, 1, 0, 1, 0, 1, 0, 1), 'ERR_NATIVE_KERNEL_SHAPE');
    refused(() => native.decodeQuant(bytes, c.byteOffset, a.byteOffset, end - 16, 1, 1, 32, 1, 0, 1, 0, 1, 0, 1), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => native.gated(bytes, c.byteOffset, a.byteOffset, end - 8, 4, 1, 0), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => native.gatedBackward(bytes, c.byteOffset, c.byteOffset, a.byteOffset, a.byteOffset, end - 8, 4, 1, 0), 'ERR_NATIVE_KERNEL_BOUNDS');
    refused(() => native.gated(bytes, c.byteOffset, a.byteOffset, a.byteOffset, -1, 1, 0), 'ERR_NATIVE_KERNEL_SHAPE');
    // not a Uint8Array, not numbers, too few arguments
    const call = native.gemm as unknown as (...args: unknown[]) => void;
    refused(() => call(new Float32Array(heap.memory.buffer), 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1), 'ERR_NATIVE_KERNEL_ARGS');
    refused(() => call({}, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1), 'ERR_NATIVE_KERNEL_ARGS');
    refused(() => call(bytes, '0', 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1), 'ERR_NATIVE_KERNEL_ARGS');
    refused(() => call(bytes, 0, 0, 0), 'ERR_NATIVE_KERNEL_ARGS');
    assert.deepEqual(c, before);
    for (const x of [a, c]) freeShared(x);
  });

  it('run on the pool’s worker threads (each loads the addon), with the same bits as one thread (own GEMM; OpenBLAS: matmul-pool.test.ts)', async () => {
    const kernels = nativeKernels({ OPENLEDGER_KERNELS: 'native' })!, blas = kernels.useBlas(false);
    const pool = new MatmulPool({ threads: 2, minFlops: 0 });
    try {
      for (const [m, k, n, layout] of [[200, 96, 130, 'nn'], [8, 576, 300, 'nt'], [64, 150, 90, 'tn'], [300, 256, 300, 'nt'], [4, 64, 1000, 'nt']] as const) {
        const a = randomArray(m * k, 21), b = randomArray(k * n, 22), c1 = allocShared(m * n), c2 = allocShared(m * n);
        engines().native.gemm(c1.byteOffset, a.byteOffset, b.byteOffset, m, k, n, { nn: 0, nt: 1, tn: 2 }[layout] as 0 | 1 | 2, false, 1, 0, m, 0, n);
        pool.matmul(c2, a, b, m, k, n, layout);
        assert.deepEqual(c2, c1, `${layout} ${m}×${k}×${n}`);
        for (const x of [a, b, c1, c2]) freeShared(x);
      }
    } finally {
      kernels.useBlas(blas);
      await pool.dispose();
    }
  });
});
