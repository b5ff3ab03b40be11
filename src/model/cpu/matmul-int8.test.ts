import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { dequantize, quantize } from '../ggml-quants.ts';
import { matmulQuantized } from './matmul.ts';
import type { QuantOperand } from './matmul.ts';
import { sharedHeap, MAX_PAGES } from './matmul-heap.ts';
import { ACT_BLOCK, INT8_TYPES } from './matmul-int8-kernels.ts';
import type { Int8Type } from './matmul-int8-kernels.ts';
import { MatmulPool, allocShared, freeShared } from './matmul-pool.ts';
import { DECODE_MAX_ROWS, Q6_K_INTEGER_MAX_ROWS, QUANT_CODES, QuantMatmul, int8ScratchBytes } from './matmul-quant.ts';
import { kernelModuleBytes } from './matmul-wasm-kernels.ts';
import { TILE } from './matmul-wasm.ts';
import { wasmApi } from './wasm-api.ts';
import { randomArray } from './random-array.test-util.ts';

const random = randomArray;

/** Rows of A with the awkward blocks: an all-zero block, a block with one outlier, a block of tiny values. */
function activations(m: number, k: number, seed: number): Float32Array {
  const a = random(m * k, seed);
  for (let i = 0; i < m; i++) {
    const row = a.subarray(i * k, (i + 1) * k);
    if (k >= 2 * ACT_BLOCK) row.fill(0, 0, ACT_BLOCK);
    row[k - 1] = 40 * (i % 2 === 0 ? 1 : -1);
    if (k >= 3 * ACT_BLOCK) for (let p = ACT_BLOCK; p < 2 * ACT_BLOCK; p++) row[p]! *= 1e-6;
  }
  return a;
}

function weights(type: Int8Type, n: number, k: number, seed: number): { w: QuantOperand; values: Float32Array; block: Float32Array } {
  const bytes = quantize(type, random(n * k, seed, false));
  const block = allocShared(Math.ceil(bytes.length / 4));
  const heapBytes = new Uint8Array(block.buffer, block.byteOffset, bytes.length);
  heapBytes.set(bytes);
  return { w: { type, rows: n, cols: k, bytes: heapBytes }, values: dequantize(type, bytes, n * k), block };
}

const roundHalfEven = (v: number): number => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

/** A model of the kernels' activation rounding (f32 arithmetic as they do it): each value as d·q. */
function roundedActivations(a: Float32Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let b = 0; b < a.length; b += ACT_BLOCK) {
    let amax = 0;
    for (let p = b; p < b + ACT_BLOCK; p++) amax = Math.max(amax, Math.abs(a[p]!));
    const d = Math.fround(amax / 127), id = amax > 0 ? Math.fround(127 / amax) : 0;
    for (let p = b; p < b + ACT_BLOCK; p++) out[p] = d * Math.max(-127, Math.min(127, roundHalfEven(Math.fround(a[p]! * id))));
  }
  return out;
}

interface Case {
  type: Int8Type;
  m: number;
  k: number;
  n: number;
  accumulate: boolean;
  alpha: number;
}

/**
 * Runs `multiply` on one case and checks C two ways: (1) against the float64 product of A rounded
 * as the kernels round it with the dequantised W, within f32 accumulation (2⁻¹⁸ of the magnitude):
 * this is what the integer path computes exactly; (2) against the product of the unrounded A,
 * within the rounding bound stated in matmul-quant.ts: |alpha|·Σ_p |w_p|·d_(block of p)/2, d =
 * max|a|/127 over the block (times 1 + 2⁻¹⁰ for the f32 computation of d and x·127/max), plus the
 * same f32 term. Returns the largest error against the unrounded product, in units of its bound.
 */
function check(multiply: typeof matmulQuantized, { type, m, k, n, accumulate, alpha }: Case, seed: number): number {
  const { w, values, block } = weights(type, n, k, seed);
  const a = activations(m, k, seed + 1), c = random(m * n, seed + 2), c0 = c.slice();
  multiply(c, a, w, m, k, n, 'nt', accumulate, alpha);
  const rounded = roundedActivations(a);
  const label = `${type} ${m}×${k}×${n}${accumulate ? ' +=' : ''} α=${alpha}`;
  let worst = 0;
  for (let i = 0; i < m; i++) {
    const steps: number[] = [];
    for (let b = 0; b < k; b += ACT_BLOCK) {
      let amax = 0;
      for (let p = b; p < b + ACT_BLOCK; p++) amax = Math.max(amax, Math.abs(a[i * k + p]!));
      steps.push(amax / 127);
    }
    for (let j = 0; j < n; j++) {
      let exact = 0, model = 0, mag = 0, bound = 0;
      for (let p = 0; p < k; p++) {
        const wv = values[j * k + p]!, av = a[i * k + p]!, rv = rounded[i * k + p]!;
        exact += av * wv;
        model += rv * wv;
        mag += Math.abs(av * wv) + Math.abs(rv * wv);
        bound += Math.abs(wv) * steps[Math.floor(p / ACT_BLOCK)]! / 2;
      }
      const start = accumulate ? c0[i * n + j]! : 0, got = c[i * n + j]!;
      const f32 = 2 ** -18 * (Math.abs(alpha) * mag + Math.abs(start)) + 1e-30;
      assert.ok(Math.abs(got - (alpha * model + start)) <= f32, `${label}: C[${i}, ${j}] = ${got}, the rounded-A product is ${alpha * model + start}`);
      const limit = Math.abs(alpha) * bound * (1 + 2 ** -10) + f32;
      const error = Math.abs(got - (alpha * exact + start));
      assert.ok(error <= limit, `${label}: C[${i}, ${j}] = ${got} is ${error} from the f32 product, over the bound ${limit}`);
      worst = Math.max(worst, error / limit);
    }
  }
  for (const x of [a, c, block]) freeShared(x);
  return worst;
}

/** Odd shapes per type: k in whole blocks (32 for Q8_0/Q4_0, super-blocks of 256 for Q4_K/Q6_K), n not a multiple of 4, m = 1, 2, 3, 5, 16 (Q6_K: up to 5). */
const cases: Case[] = INT8_TYPES.flatMap((type) => {
  const kb = type === 'Q4_K' || type === 'Q6_K' ? 256 : 32;
  return [
    { type, m: 1, k: kb, n: 1, accumulate: false, alpha: 1 },
    { type, m: 1, k: 5 * 256, n: 37, accumulate: false, alpha: 1 },
    { type, m: 2, k: 3 * kb, n: 5, accumulate: true, alpha: -2 },
    { type, m: 3, k: 3 * 256, n: 13, accumulate: false, alpha: 0.5 },
    // the most rows the integer path takes for this type (Q6_K hands more to the dequantising path)
    { type, m: type === 'Q6_K' ? Q6_K_INTEGER_MAX_ROWS : DECODE_MAX_ROWS, k: 5 * kb, n: 7, accumulate: true, alpha: 1 },
    { type, m: 5, k: 4864, n: 6, accumulate: false, alpha: 1 },
  ];
});

describe('integer-dot decode (Q8_0, Q4_0, Q4_K, Q6_K weights, activations rounded to 8 bits)', () => {
  it('computes the product of the rounded A exactly up to f32 accumulation, within the rounding bound of the f32 product', () => {
    for (const type of INT8_TYPES) {
      let worst = 0;
      for (const [i, x] of cases.entries()) if (x.type === type) worst = Math.max(worst, check(matmulQuantized, x, 10 * i + 1));
      // the activations were rounded (the path is the integer one), and the bound is not loose by orders of magnitude
      assert.ok(worst > 0.01, `${type}: largest error ${worst} of the bound`);
    }
  });

  it('rounds a block of ±max to ±127 exactly: the outlier block gives its exact product', () => {
    const k = 32, n = 4;
    const { w, values, block } = weights('Q8_0', n, k, 3);
    const a = allocShared(k), c = allocShared(n);
    for (let p = 0; p < k; p++) a[p] = p % 2 === 0 ? 3 : -3;
    matmulQuantized(c, a, w, 1, k, n, 'nt');
    for (let j = 0; j < n; j++) {
      let exact = 0;
      for (let p = 0; p < k; p++) exact += a[p]! * values[j * k + p]!;
      assert.ok(Math.abs(c[j]! - exact) <= 2 ** -20 * Math.abs(exact) + 1e-6, `C[${j}] = ${c[j]}, expected ${exact}`);
    }
    for (const x of [a, c, block]) freeShared(x);
  });

  it('a Q8_0 weight of −128 is exact against a positive activation and at most one step off against a negative one', () => {
    const k = 32;
    const bytes = new Uint8Array(34);
    bytes[0] = 0x00, bytes[1] = 0x3c; // f16 1.0
    bytes[2] = 0x80; // q = −128, the other 31 zero
    const block = allocShared(9);
    const heapBytes = new Uint8Array(block.buffer, block.byteOffset, 34);
    heapBytes.set(bytes);
    const a = allocShared(2 * k), c = allocShared(2);
    a[0] = 1, a[k] = -1; // rows of A: +1 and −1 in the first element (each row's scale 1/127, q_a = ±127)
    matmulQuantized(c, a, { type: 'Q8_0', rows: 1, cols: k, bytes: heapBytes }, 2, k, 1, 'nt');
    assert.ok(Math.abs(c[0]! + 128) <= 1e-4, `+1 · −128 gave ${c[0]}`);
    assert.ok(c[1]! >= 127 - 1e-4 && c[1]! <= 128 + 1e-4, `−1 · −128 gave ${c[1]} (128 exactly, or 127 with the saturating sign trick)`);
    for (const x of [a, c, block]) freeShared(x);
  });

  it('the plain-SIMD fallback (no relaxed dot product) keeps both bounds', () => {
    assert.ok(wasmApi);
    const heap = sharedHeap();
    const fma = wasmApi.validate(kernelModuleBytes(TILE, MAX_PAGES, { fma: true }));
    const exports = new wasmApi.Instance(new wasmApi.Module(kernelModuleBytes(TILE, MAX_PAGES, { fma, relaxedDot: false })), { env: { memory: heap.memory } }).exports;
    const bytes = int8ScratchBytes(DECODE_MAX_ROWS, 4864);
    const scratch = heap.allocBytes(bytes);
    try {
      const q = new QuantMatmul(exports, scratch, bytes);
      const plain: typeof matmulQuantized = (c, a, w, m, k, n, _layout, accumulate = false, alpha = 1) => {
        assert.ok(q.usesIntegerPath(QUANT_CODES[w.type], m, k));
        q.decode(c.byteOffset, a.byteOffset, w.bytes.byteOffset, QUANT_CODES[w.type], m, k, n, accumulate, alpha, 0, m, 0, n);
      };
      for (const [i, x] of cases.entries()) check(plain, x, 10 * i + 2);
    } finally {
      heap.freeBytes(scratch);
    }
  });
});

describe('integer-dot decode, worker pool', () => {
  const pool = new MatmulPool({ threads: 3, minFlops: 0, chunksPerThread: 4 });
  after(() => pool.dispose());
  const viaPool: typeof matmulQuantized = (c, a, w, m, k, n, layout, accumulate, alpha) => pool.matmulQuantized(c, a, w, m, k, n, layout, accumulate, alpha);

  it('gives the same bits as one thread and stays within the bound, split over n', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300)); // workers start
    for (const [i, x] of cases.entries()) {
      const { w, block } = weights(x.type, x.n, x.k, 7 * i);
      const a = activations(x.m, x.k, 7 * i + 1), c1 = random(x.m * x.n, 5), c2 = c1.slice();
      pool.matmulQuantized(c1, a, w, x.m, x.k, x.n, 'nt', x.accumulate, x.alpha);
      matmulQuantized(c2, a, w, x.m, x.k, x.n, 'nt', x.accumulate, x.alpha);
      assert.deepEqual(c1, c2, `${x.type} ${x.m}×${x.k}×${x.n}`);
      for (const v of [a, c1, block]) freeShared(v);
      check(viaPool, { ...x, n: x.n + 40 }, 3 * i);
    }
  });
});
