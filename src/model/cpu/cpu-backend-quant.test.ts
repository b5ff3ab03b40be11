import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Backend, MatmulLayout } from '../backend.ts';
import { createBackend } from '../create-backend.ts';
import { GgmlQuantError, QUANT_FORMATS, dequantize, quantize } from '../ggml-quants.ts';
import type { QuantType } from '../ggml-quants.ts';
import { createCpuBackend, TensorTypeError } from './cpu-backend.ts';
import { sharedHeap } from './matmul-heap.ts';
import { naiveMatmul } from './naive-matmul.ts';

const types: QuantType[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

function values(length: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return new Float32Array(length).map(() => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5));
}

/** max |x − y| relative to max |y|. */
function relErr(x: Float32Array, y: Float32Array): number {
  let d = 0, s = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    s = Math.max(s, Math.abs(y[i]!));
  }
  return d / s;
}

/** max |x − y|. */
function maxAbsErr(x: Float32Array, y: Float32Array): number {
  let d = 0;
  for (let i = 0; i < y.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  return d;
}

/**
 * The largest change to an output of `nt` A[m×k]·W[n×k]ᵀ from rounding A's rows to 8-bit blocks of
 * 32 (the integer decode path of every quantised type, matmul-quant.ts): Σ|w|·d/2 with d = max|a|/127 per block
 * (with 2⁻¹⁰ of slack for computing d in f32).
 */
function activationRoundingBound(a: Float32Array, w: Float32Array, m: number, k: number, n: number): number {
  let bound = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p += 32) {
        let amax = 0, wsum = 0;
        for (let q = p; q < p + 32; q++) {
          amax = Math.max(amax, Math.abs(a[i * k + q]!));
          wsum += Math.abs(w[j * k + q]!);
        }
        sum += (wsum * amax) / 127 / 2;
      }
      bound = Math.max(bound, sum * (1 + 2 ** -10));
    }
  }
  return bound;
}

describe('CPU backend: quantised weights', () => {
  const backends: Array<[string, Backend]> = [
    ['1 thread', createBackend({ threads: 1 })],
    ['pool of 2', createBackend({ threads: 2 })],
    ['reference (dequantise, naive matmul)', createCpuBackend({ matmul: naiveMatmul })],
  ];
  after(() => Promise.all(backends.map(([, b]) => b.dispose())));

  it('read gives the dequantised values; the tensor reports its type and element count', async () => {
    for (const type of types) {
      const cols = 2 * QUANT_FORMATS[type].block, bytes = quantize(type, values(3 * cols, 1));
      const [, backend] = backends[0]!;
      const w = backend.uploadQuantized({ type, rows: 3, cols, bytes });
      assert.equal(w.dtype, type);
      assert.equal(w.length, 3 * cols);
      assert.deepEqual(await backend.read(w), dequantize(type, bytes, 3 * cols));
      backend.free(w);
    }
  });

  it('matmul with a quantised B: nt forward (decode and prefill rows) and nn / tn backward', async () => {
    for (const [label, backend] of backends) {
      for (const type of types) {
        const block = QUANT_FORMATS[type].block;
        for (const [layout, m, k, n] of [['nt', 1, 2 * block, 37], ['nt', 33, block, 19], ['nn', 6, 21, block], ['tn', 9, 5, 2 * block]] as const) {
          const [rows, cols] = layout === 'nt' ? [n, k] : [k, n];
          const bytes = quantize(type, values(rows * cols, 3));
          const w = backend.uploadQuantized({ type, rows, cols, bytes });
          const wf = backend.upload(dequantize(type, bytes, rows * cols));
          const a = backend.upload(values(m * k, 4)), c = backend.upload(values(m * n, 5)), expected = backend.upload(values(m * n, 5));
          backend.matmul(c, a, w, m, k, n, layout as MatmulLayout, true, 0.5);
          backend.matmul(expected, a, wf, m, k, n, layout as MatmulLayout, true, 0.5);
          const got = await backend.read(c), want = await backend.read(expected);
          if (layout === 'nt' && m <= 16 && !label.startsWith('reference')) {
            // the integer decode path rounds A to 8 bits (alpha 0.5 scales the change)
            const bound = 0.5 * activationRoundingBound(values(m * k, 4), dequantize(type, bytes, rows * cols), m, k, n);
            const err = maxAbsErr(got, want);
            assert.ok(err <= bound + 1e-5 * Math.max(...want.map(Math.abs)), `${label} ${type} ${layout} ${m}×${k}×${n}: error ${err}, bound ${bound}`);
          } else {
            const err = relErr(got, want);
            assert.ok(err < 1e-5, `${label} ${type} ${layout} ${m}×${k}×${n}: relative error ${err}`);
          }
          for (const t of [w, wf, a, c, expected]) backend.free(t);
        }
      }
    }
  });

  it('a quantised tensor is only matmul\'s B: other uses throw TensorTypeError', () => {
    const [, backend] = backends[0]!;
    const w = backend.uploadQuantized({ type: 'Q8_0', rows: 2, cols: 32, bytes: quantize('Q8_0', values(64, 6)) });
    const x = backend.zeros(64), y = backend.zeros(4);
    assert.throws(() => backend.matmul(y, w, x, 2, 32, 2, 'nn'), TensorTypeError);
    assert.throws(() => backend.matmul(w, x, x, 2, 32, 1, 'nn'), TensorTypeError);
    assert.throws(() => backend.copy(x, w), TensorTypeError);
    assert.throws(() => backend.fill(w, 0), TensorTypeError);
    assert.throws(() => backend.write(w, new Float32Array(2)), TensorTypeError);
    assert.throws(() => backend.scale(w, 2), TensorTypeError);
    assert.throws(() => backend.axpy(x, w, 1), TensorTypeError);
    for (const t of [w, x, y]) backend.free(t);
  });

  it('uploads are checked against the format', () => {
    const [, backend] = backends[0]!;
    assert.throws(() => backend.uploadQuantized({ type: 'Q4_K', rows: 1, cols: 128, bytes: new Uint8Array(72) }), GgmlQuantError);
    assert.throws(() => backend.uploadQuantized({ type: 'Q8_0', rows: 2, cols: 32, bytes: new Uint8Array(67) }), GgmlQuantError);
    assert.throws(() => backend.uploadQuantized({ type: 'Q5_0' as QuantType, rows: 1, cols: 32, bytes: new Uint8Array(22) }), GgmlQuantError);
  });

  it('the blocks live on the kernels\' heap at their file size (≤ 64 bytes of alignment more)', () => {
    const [, backend] = backends[0]!;
    const heap = sharedHeap();
    for (const type of types) {
      const bytes = quantize(type, values(576 * 1536, 7));
      const before = heap.usedBytes;
      const w = backend.uploadQuantized({ type, rows: 576, cols: 1536, bytes });
      const used = heap.usedBytes - before;
      assert.ok(used >= bytes.length && used <= bytes.length + 64, `${type}: ${used} bytes on the heap for ${bytes.length}`);
      backend.free(w);
      assert.equal(heap.usedBytes, before);
    }
  });
});
