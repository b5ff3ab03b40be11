import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { median, ranked, ranks, spearman } from './metrics.ts';

describe('evaluation metrics', () => {
  it('ranks ties by the mean of their positions', () => {
    assert.deepEqual(ranks([3, 1, 3, 2]), [2.5, 0, 2.5, 1]);
  });

  it('computes Spearman against a brute-force Pearson of ranks', () => {
    assert.equal(spearman([1, 2, 3], [10, 30, 20]), 0.5);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.equal(spearman([1, 1, 1], [1, 2, 3]), 0);
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })), { minLength: 2, maxLength: 30 }), (pairs) => {
      const a = pairs.map((p) => p[0]), b = pairs.map((p) => p[1]);
      const r = spearman(a, b);
      assert.ok(r >= -1 - 1e-12 && r <= 1 + 1e-12);
      assert.ok(Math.abs(spearman(b, a) - r) < 1e-12);
      // monotone transforms do not change it
      assert.ok(Math.abs(spearman(a.map((x) => x * x * x + 7), b) - r) < 1e-12);
    }));
  });

  it('takes medians and rankings', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.deepEqual(ranked(new Map([['b', 2], ['a', 2], ['c', 0], ['d', 5]])), ['d', 'a', 'b']);
  });
});
