import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { candidateProbability, DEFAULT_RECALL_AT_THRESHOLD, lshBands, lshBandsMinimisingArea } from './lsh-bands.ts';

test('the default banding for 128 permutations', () => {
  assert.deepEqual(lshBands(0.8, 128), { bands: 21, rows: 6 });
  assert.deepEqual(lshBands(0.9, 128), { bands: 12, rows: 10 });
  assert.deepEqual(lshBands(0.5, 128), { bands: 42, rows: 3 });
  assert.deepEqual(lshBands(0.8, 256), { bands: 32, rows: 8 });
  assert.deepEqual(lshBands(0.01, 128), { bands: 128, rows: 1 }, 'no banding reaches the target: the most bands');
  const p = (s: number) => candidateProbability(s, { bands: 21, rows: 6 });
  assert.ok(p(0.8) > 0.99 && p(0.3) < 0.02 && p(0.1) < 1e-4);
});

test('pairs at the threshold become candidates with at least the target probability, and one more row would miss it', () => {
  fc.assert(
    fc.property(fc.double({ min: 0.3, max: 1, noNaN: true }), fc.integer({ min: 16, max: 512 }), (threshold, numPerm) => {
      const { bands, rows } = lshBands(threshold, numPerm);
      assert.ok(bands * rows <= numPerm);
      assert.ok(candidateProbability(threshold, { bands, rows }) >= DEFAULT_RECALL_AT_THRESHOLD);
      const more = rows + 1;
      if (more <= numPerm) assert.ok(candidateProbability(threshold, { bands: Math.floor(numPerm / more), rows: more }) < DEFAULT_RECALL_AT_THRESHOLD);
    }),
  );
});

test('candidate probability rises with similarity', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 20 }), (x, y, bands, rows) => {
      const [lo, hi] = x < y ? [x, y] : [y, x];
      assert.ok(candidateProbability(lo, { bands, rows }) <= candidateProbability(hi, { bands, rows }));
    }),
  );
  assert.equal(candidateProbability(1, { bands: 3, rows: 4 }), 1);
  assert.equal(candidateProbability(0, { bands: 3, rows: 4 }), 0);
});

test('the textbook area-minimising banding, for comparison (datasketch gives 9 × 13 at 0.8 / 128)', () => {
  assert.deepEqual(lshBandsMinimisingArea(0.8, 128), { bands: 9, rows: 13 });
  assert.ok(candidateProbability(0.8, { bands: 9, rows: 13 }) < 0.41);
});

test('bad arguments are refused', () => {
  assert.throws(() => lshBands(0, 128), RangeError);
  assert.throws(() => lshBands(1.5, 128), RangeError);
  assert.throws(() => lshBands(0.8, 0), RangeError);
});
