import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Hex } from 'viem';
import { combineScores, PPM } from './combine-scores.ts';

const id = (i: number) => `0x${i.toString(16).padStart(64, '0')}` as Hex;
const scores = fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 100, noNaN: true })), { maxLength: 25 })
  .map((xs) => new Map(xs.map(([i, v]) => [id(i), v])));

describe('combineScores', () => {
  it('mixes the normalised signals by the governance weight', () => {
    const span = new Map([[id(1), 3], [id(2), 1]]);
    const grad = new Map([[id(2), 1]]);
    const half = combineScores(span, grad, { spanWeightBps: 5000, thresholdPpm: 0 });
    assert.deepEqual(half.map((s) => [s.contributionId, s.sharePpm]), [[id(2), 625_000], [id(1), 375_000]]);
    const spanOnly = combineScores(span, grad, { spanWeightBps: 10_000, thresholdPpm: 0 });
    assert.deepEqual(spanOnly.map((s) => s.sharePpm), [750_000, 250_000]);
  });

  it('gives the whole weight to the signal that has evidence when the other has none', () => {
    assert.deepEqual(combineScores(new Map(), new Map([[id(1), 2]]), { spanWeightBps: 9000, thresholdPpm: 0 }).map((s) => s.sharePpm), [PPM]);
    assert.deepEqual(combineScores(new Map(), new Map(), { spanWeightBps: 5000, thresholdPpm: 0 }), []);
  });

  it('drops shares under the threshold and renormalises the rest', () => {
    const span = new Map([[id(1), 90], [id(2), 9], [id(3), 1]]);
    const out = combineScores(span, new Map(), { spanWeightBps: 5000, thresholdPpm: 50_000 });
    assert.deepEqual(out.map((s) => s.contributionId), [id(1), id(2)]);
    assert.deepEqual(out.map((s) => s.sharePpm), [909_091, 90_909]);
  });

  it('always sums to exactly 1,000,000 ppm, every share at or above the threshold, deterministically (property)', () => {
    fc.assert(fc.property(scores, scores, fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 200_000 }), (s, g, w, t) => {
      const out = combineScores(s, g, { spanWeightBps: w, thresholdPpm: t });
      assert.deepEqual(combineScores(new Map([...s].reverse()), new Map([...g].reverse()), { spanWeightBps: w, thresholdPpm: t }), out);
      if (out.length === 0) return;
      assert.equal(out.reduce((a, x) => a + x.sharePpm, 0), PPM);
      for (const x of out) assert.ok(x.sharePpm >= t - 1 && x.sharePpm >= 0);
      assert.equal(new Set(out.map((x) => x.contributionId)).size, out.length);
    }));
  });
});
