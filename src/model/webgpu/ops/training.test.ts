/**
 * The WebGPU optimiser kernels against the CPU reference: sumOfSquares over several tensors
 * (lengths below, at and past the 256-thread workgroup, and one long enough to hit the cap of
 * 1,024 partial sums so threads stride), empty inputs; adamw over several steps (so the moments
 * and the bias corrections evolve), with and without weight decay and gradient scaling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend } from '../../backend.ts';
import { cpu, openTestGpu, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';

const { gpu, skip } = await openTestGpu();

// sumOfSquares: f32 partial sums (a strided loop, then a tree) against the CPU's double sum in
// order: relative errors of order 1e-8 measured, so 1e-5; the element-by-element test below
// checks that no element is dropped or counted twice (exact, as 3² = 9 is exact). adamw: one f32
// update per element against the CPU's double arithmetic rounded to f32: ~1e-7 after 5 steps,
// bound 1e-5 (a wrong bias correction or decay moves parameters by ~lr = 1e-2).
const TOLERANCE = 1e-5;

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

test('sumOfSquares matches the CPU over several tensors', { skip }, async (t) => {
  const be = gpu as Backend, ref = cpu();
  for (const lengths of [[1], [255, 256, 257], [7, 1000, 63, 4096], [300_000, 5]]) {
    const arrays = lengths.map((n, i) => randomArray(n, 50 + n + i, 2));
    const g = arrays.map((a) => be.upload(a)), c = arrays.map((a) => ref.upload(a));
    const [sg, sc] = [await be.sumOfSquares(g), await ref.sumOfSquares(c)];
    t.diagnostic(`lengths ${lengths.join(',')}: relative error ${relative(sg, sc).toExponential(2)}`);
    assert.ok(relative(sg, sc) < TOLERANCE, `lengths ${lengths}: ${sg} vs ${sc}`);
    for (const x of g) be.free(x);
  }
});

test('sumOfSquares sees every element (one non-zero value at each position)', { skip }, async () => {
  const be = gpu as Backend;
  for (const n of [1, 300, 2000]) {
    const x = be.zeros(n);
    for (const i of [0, Math.floor(n / 2), n - 1]) {
      be.fill(x, 0);
      be.write(x, Float32Array.of(3), i);
      assert.equal(await be.sumOfSquares([x]), 9, `n=${n}, element ${i}`);
    }
    be.free(x);
  }
});

test('sumOfSquares of no tensors, or empty ones, is 0', { skip }, async () => {
  const be = gpu as Backend;
  assert.equal(await be.sumOfSquares([]), 0);
  const empty = be.zeros(0);
  assert.equal(await be.sumOfSquares([empty]), 0);
  be.free(empty);
});

const steps = [
  { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, gradScale: 1 },
  { lr: 3e-3, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, gradScale: 0.37 },
];
for (const n of [1, 65, 1000]) {
  for (const [j, o] of steps.entries()) {
    test(`adamw matches the CPU over 5 steps (n=${n}, settings ${j})`, { skip }, async (t) => {
      const inputs = { param: randomArray(n, 60 + n), m: new Float32Array(n), v: new Float32Array(n), ...Object.fromEntries([1, 2, 3, 4, 5].map((s) => [`g${s}`, randomArray(n, 70 + s + n, 0.5)])) };
      const [g, c] = await onBoth(gpu as Backend, inputs, (be, x) => {
        for (let step = 1; step <= 5; step++) be.adamw(x.param!, x[`g${step}`]!, x.m!, x.v!, { ...o, step });
      }, ['param', 'm', 'v']);
      for (const name of ['param', 'm', 'v']) {
        const err = maxRelativeError(g[name]!, c[name]!);
        t.diagnostic(`${name}: max relative error ${err.toExponential(2)}`);
        assert.ok(err < TOLERANCE, `${name}: max relative error ${err}`);
      }
    });
  }
}
