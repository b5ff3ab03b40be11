import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HalfMatrixError, halfMatrixValues, halfShift, toHalfMatrix } from './half-matrix.ts';
import { float32ToHalf } from './safetensors.ts';

/** A matrix of f32 values spread over `decades` decades below a largest magnitude of 10^top. */
const matrix = fc.record({
  top: fc.integer({ min: -35, max: 35 }),
  values: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: -8, max: 0, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 64 }),
}).map(({ top, values }) => Float32Array.from(values, ([m, e, neg]) => (neg ? -1 : 1) * m * 10 ** (top + e)));

describe('HalfMatrix', () => {
  it('keeps 11 significant bits of every value down to 2^-28 of the largest, whatever the scale (no overflow, no flush)', () => {
    fc.assert(fc.property(matrix, (v) => {
      const h = toHalfMatrix(v), back = halfMatrixValues(h);
      let max = 0;
      for (const x of v) max = Math.max(max, Math.abs(x));
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!, err = Math.abs(back[i]! - x);
        if (Math.abs(x) >= max * 2 ** -28) assert.ok(err <= Math.abs(x) * 2 ** -11, `value ${x} came back ${back[i]} (largest ${max})`);
        else assert.ok(err <= max * 2 ** -39, `a value far below the largest (${x}) moved by ${err}`);
        assert.ok(Number.isFinite(back[i]!));
      }
    }), { numRuns: 300 });
  });

  it('puts the largest |value| in [2^14, 2^15), so no half overflows, at exact powers of two too', () => {
    for (const max of [1, 2 ** 15, 2 ** 14, 2 ** 15 - 1, 1 / 3, 65504, 1e30, 1e-30, 3.4e38, 1.4e-45]) {
      const v = Float32Array.of(max, -max / 7);
      const s = halfShift(v), scaled = Math.fround(max) * 2 ** s;
      assert.ok(scaled >= 2 ** 14 && scaled < 2 ** 15, `largest ${max}: scaled to ${scaled}`);
      assert.ok(Number.isFinite(halfMatrixValues(toHalfMatrix(v))[0]!));
    }
    // plain half precision would overflow (1e5) or lose everything (1e-9); the scale keeps both
    const big = Float32Array.of(1e5, -3e4), tiny = Float32Array.of(1e-9, 2e-10);
    assert.equal(float32ToHalf(big)[0], 0x7c00);
    assert.equal(float32ToHalf(tiny)[0], 0);
    for (const v of [big, tiny]) {
      const back = halfMatrixValues(toHalfMatrix(v));
      v.forEach((x, i) => assert.ok(Math.abs(back[i]! - x) <= Math.abs(x) * 2 ** -11));
    }
  });

  it('is exact on what it rounded (the serving form built again from the rounded values holds the same halves)', () => {
    fc.assert(fc.property(matrix, (v) => {
      const once = halfMatrixValues(toHalfMatrix(v)), h = toHalfMatrix(once);
      assert.deepEqual(halfMatrixValues(h), once);
      assert.deepEqual(h, toHalfMatrix(v));
    }), { numRuns: 200 });
  });

  it('holds an all-zero matrix as zeros, and refuses NaN and infinities', () => {
    assert.deepEqual(toHalfMatrix(new Float32Array(3)), { bits: new Uint16Array(3), shift: 0 });
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      assert.throws(() => toHalfMatrix(Float32Array.of(1, bad)), HalfMatrixError);
    }
  });
});
