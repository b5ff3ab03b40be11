/**
 * The WebGPU matmul against the CPU reference (naiveMatmul, summing in a double): every layout,
 * shapes with odd edges smaller and larger than the 64×64 tile and the 16-wide K step, the
 * matrix-vector path (nt with m ≤ 8) and its border (m = 9), accumulate and alpha.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MatmulLayout } from '../../backend.ts';
import { openTestGpu, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';

const { gpu, skip } = await openTestGpu();

// f32 sums of up to ~100 products of values in [-1, 1) (in fixed order, with fma) against a
// double-precision sum: the error is a few ulps of the partial sums, ~1e-6 of the largest output;
// 1e-4 leaves room without hiding an indexing error (which gives errors of order 1).
const TOLERANCE = 1e-4;

const SHAPES: ReadonlyArray<[number, number, number]> = [
  [1, 1, 1],
  [3, 5, 2],
  [8, 16, 64], // matrix-vector for nt
  [9, 17, 33], // just past the matrix-vector limit
  [64, 16, 64], // exactly one tile, one K step
  [65, 33, 70], // two tiles each way, ragged K
  [37, 96, 130],
  [5, 0, 7], // empty K: C := 0 (or C unchanged when accumulating)
];

async function check(m: number, k: number, n: number, layout: MatmulLayout, accumulate: boolean, alpha: number, seed: number): Promise<number> {
  if (typeof gpu === 'string') throw new Error(gpu);
  const inputs = { a: randomArray(m * k, seed), b: randomArray(k * n, seed + 1), c: randomArray(m * n, seed + 2) };
  const [g, c] = await onBoth(gpu, inputs, (be, t) => be.matmul(t.c!, t.a!, t.b!, m, k, n, layout, accumulate, alpha), ['c']);
  const err = maxRelativeError(g.c!, c.c!);
  assert.ok(err < TOLERANCE, `${layout} ${m}×${k}×${n} accumulate=${accumulate} alpha=${alpha}: max relative error ${err}`);
  return err;
}

for (const layout of ['nn', 'nt', 'tn'] as const) {
  test(`matmul ${layout} matches the CPU reference on every shape`, { skip }, async () => {
    let worst = 0, seed = 1;
    for (const [m, k, n] of SHAPES) worst = Math.max(worst, await check(m, k, n, layout, false, 1, (seed += 3)));
    assert.ok(worst < TOLERANCE);
  });

  test(`matmul ${layout} accumulates alpha · product into C`, { skip }, async () => {
    let seed = 100;
    for (const [m, k, n] of SHAPES) await check(m, k, n, layout, true, -0.75, (seed += 3));
    await check(4, 40, 23, layout, false, 2.5, 7);
  });
}

test('matmul nt with m = 1 (one decode row) over a long K', { skip }, async () => {
  await check(1, 1000, 50, 'nt', false, 1, 11);
  await check(2, 333, 9, 'nt', true, 0.5, 12);
});
