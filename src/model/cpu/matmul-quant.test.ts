import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { MatmulLayout } from '../backend.ts';
import { QUANT_FORMATS, dequantize, quantize } from '../ggml-quants.ts';
import type { QuantType } from '../ggml-quants.ts';
import { MatmulShapeError, matmulQuantized } from './matmul.ts';
import type { QuantOperand } from './matmul.ts';
import { MatmulPool, allocShared, freeShared } from './matmul-pool.ts';
import { ACT_BLOCK, INT8_TYPES } from './matmul-int8-kernels.ts';
import { DECODE_MAX_ROWS } from './matmul-quant.ts';
import { randomArray } from './random-array.test-util.ts';

const types: QuantType[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

const random = randomArray;

/** W as ggml blocks on the heap (`nt`: [n, k]; `nn`/`tn`: [k, n]) and its dequantised f32 values. */
function quantized(type: QuantType, rows: number, cols: number, seed: number): { w: QuantOperand; values: Float32Array } {
  const bytes = quantize(type, random(rows * cols, seed, false));
  const block = allocShared(Math.ceil(bytes.length / 4));
  const heapBytes = new Uint8Array(block.buffer, block.byteOffset, bytes.length);
  heapBytes.set(bytes);
  return { w: { type, rows, cols, bytes: heapBytes }, values: dequantize(type, bytes, rows * cols) };
}

/** Whether a product takes the integer decode path, which rounds A to 8-bit blocks (matmul-quant.ts). */
const roundsA = (type: QuantType, layout: MatmulLayout, m: number) => layout === 'nt' && m <= DECODE_MAX_ROWS && (INT8_TYPES as readonly string[]).includes(type);

/**
 * Checks C against the float64 product of A and the dequantised W: each element within
 * 2⁻¹⁸ · Σ|a·w| (f32 accumulation over k, in a different order), after C's initial value when accumulating;
 * with `roundedA` (the integer decode path) also within the rounding bound of A,
 * |alpha|·Σ|w|·d/2 with d = max|a|/127 over each block of 32 (matmul-int8.test.ts checks it tightly).
 */
function checkProduct(c: Float32Array, c0: Float32Array, a: Float32Array, w: Float32Array, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate: boolean, alpha: number, label: string, roundedA = false): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0, mag = 0, rounding = 0;
      for (let p = 0; p < k; p++) {
        const av = layout === 'tn' ? a[p * m + i]! : a[i * k + p]!;
        const wv = layout === 'nt' ? w[j * k + p]! : w[p * n + j]!;
        sum += av * wv;
        mag += Math.abs(av * wv);
        if (roundedA && p % ACT_BLOCK === 0) {
          let amax = 0, wsum = 0;
          for (let q = p; q < p + ACT_BLOCK; q++) {
            amax = Math.max(amax, Math.abs(a[i * k + q]!));
            wsum += Math.abs(w[j * k + q]!);
          }
          rounding += wsum * amax / 127 / 2 * (1 + 2 ** -10);
        }
      }
      const expected = alpha * sum + (accumulate ? c0[i * n + j]! : 0);
      const got = c[i * n + j]!;
      const tolerance = 2 ** -18 * (Math.abs(alpha) * mag + Math.abs(c0[i * n + j]!)) + Math.abs(alpha) * rounding + 1e-30;
      assert.ok(Math.abs(got - expected) <= tolerance, `${label}: C[${i}, ${j}] = ${got}, expected ${expected}`);
    }
  }
}

function run(multiply: typeof matmulQuantized, type: QuantType, layout: MatmulLayout, m: number, kBlocks: number, n: number,
  accumulate: boolean, alpha: number, seed: number): void {
  const block = QUANT_FORMATS[type].block;
  // the quantised dimension is W's row: k for nt, n for nn/tn
  const k = layout === 'nt' ? kBlocks * block : kBlocks;
  const nn = layout === 'nt' ? n : n * block;
  const [rows, cols] = layout === 'nt' ? [nn, k] : [k, nn];
  const { w, values } = quantized(type, rows, cols, seed);
  const a = random(m * k, seed + 1), c = random(m * nn, seed + 2), c0 = c.slice();
  multiply(c, a, w, m, k, nn, layout, accumulate, alpha);
  checkProduct(c, c0, a, values, m, k, nn, layout, accumulate, alpha, `${type} ${layout} ${m}×${k}×${nn}${accumulate ? ' +=' : ''} α=${alpha}`, roundsA(type, layout, m));
  freeShared(a);
  freeShared(c);
}

describe('quantised matmul, one thread', () => {
  it('decode (nt, m ≤ 16): odd m and n, k across several chunks of the scratch', () => {
    for (const type of types) {
      for (const [m, kBlocks, n] of [[1, 2, 5], [1, 24, 37], [2, 1, 4], [3, 9, 11], [7, 5, 3], [DECODE_MAX_ROWS, 3, 17]] as const) {
        run(matmulQuantized, type, 'nt', m, type.endsWith('K') ? Math.ceil(kBlocks / 4) + 1 : kBlocks, n, false, 1, m * 100 + n);
      }
    }
  });

  it('panels (nt with more rows, nn and tn): odd shapes, accumulate and alpha', () => {
    fc.assert(fc.property(
      fc.constantFrom(...types), fc.constantFrom<MatmulLayout>('nt', 'nn', 'tn'),
      fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 21 }),
      fc.boolean(), fc.constantFrom(1, -0.5), fc.nat(),
      (type, layout, m, kBlocks, n, accumulate, alpha, seed) => {
        // nn/tn: k free (1…3 · 7 + 1 rows of W), n whole blocks (1…3); nt: k whole blocks, m past the decode path
        if (layout === 'nt') run(matmulQuantized, type, layout, DECODE_MAX_ROWS + m, kBlocks, n, accumulate, alpha, seed);
        else run(matmulQuantized, type, layout, m, 7 * kBlocks + 1, Math.ceil(n / 8), accumulate, alpha, seed);
      },
    ), { numRuns: 60 });
  });

  it('decode accumulates with alpha across k chunks', () => {
    for (const type of types) run(matmulQuantized, type, 'nt', 5, type.endsWith('K') ? 5 : 40, 9, true, -2, 7);
  });

  it('k beyond one GEMM panel (kc = 256) and n beyond one block of columns (nc = 1024)', () => {
    run(matmulQuantized, 'Q4_K', 'nt', 30, 3, 1030, true, 1, 3);
    run(matmulQuantized, 'Q8_0', 'nn', 9, 300, 40, false, 1, 4);
  });

  it('weights off the heap are copied; bad shapes are refused', () => {
    const k = 64, n = 3;
    const bytes = quantize('Q8_0', random(n * k, 1, false));
    const a = random(2 * k, 2, false), c = new Float32Array(2 * n);
    matmulQuantized(c, a, { type: 'Q8_0', rows: n, cols: k, bytes }, 2, k, n, 'nt');
    checkProduct(c, c, a, dequantize('Q8_0', bytes, n * k), 2, k, n, 'nt', false, 1, 'plain arrays', true);
    assert.throws(() => matmulQuantized(c, a, { type: 'Q8_0', rows: k, cols: n, bytes }, 2, k, n, 'nt'), MatmulShapeError);
    assert.throws(() => matmulQuantized(c, a, { type: 'Q8_0', rows: n, cols: k, bytes: bytes.subarray(1) }, 2, k, n, 'nt'), MatmulShapeError);
    assert.throws(() => matmulQuantized(new Float32Array(3 * 32), new Float32Array(3 * 33), { type: 'Q8_0', rows: 33, cols: 3 * 32, bytes }, 3, 33, 3 * 32, 'nn'), MatmulShapeError);
  });
});

describe('quantised matmul, worker pool', () => {
  const pool = new MatmulPool({ threads: 3, minFlops: 0, chunksPerThread: 4 });
  after(() => pool.dispose());
  const viaPool: typeof matmulQuantized = (c, a, w, m, k, n, layout, accumulate, alpha) => pool.matmulQuantized(c, a, w, m, k, n, layout, accumulate, alpha);

  it('gives the same bits as one thread, split over n (decode) or rows/columns (panels)', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300)); // workers start
    for (const type of types) {
      const block = QUANT_FORMATS[type].block;
      for (const [layout, m, k, n] of [['nt', 1, 3 * block, 67], ['nt', 16, 2 * block, 45], ['nt', 50, 2 * block, 37], ['nn', 30, 41, 3 * block], ['tn', 5, 23, 2 * block]] as const) {
        const [rows, cols] = layout === 'nt' ? [n, k] : [k, n];
        const { w } = quantized(type, rows, cols, 11);
        const a = random(m * k, 12), c1 = random(m * n, 13), c2 = c1.slice();
        pool.matmulQuantized(c1, a, w, m, k, n, layout, true, 0.5);
        matmulQuantized(c2, a, w, m, k, n, layout, true, 0.5);
        assert.deepEqual(c1, c2, `${type} ${layout} ${m}×${k}×${n}`);
      }
    }
  });

  it('matches the dequantised product (decode and panels)', () => {
    for (const type of types) {
      run(viaPool, type, 'nt', 1, type.endsWith('K') ? 3 : 20, 45, false, 1, 21);
      run(viaPool, type, 'nn', 19, 33, 3, true, 1, 22);
    }
  });
});
