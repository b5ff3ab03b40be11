/**
 * The WebGPU RMSNorm, rotary-embedding and cross-entropy kernels against the CPU reference:
 * rmsnorm (out and rstd) and its backward (dx accumulating, with and without dw), over rows
 * narrower and wider than the 256-thread row workgroup; rope forward and inverse at position
 * offsets up to 30,000 and ropeRows at positions up to 100,000 (exact angle reduction); cross-
 * entropy loss only, with a separate gradient and with the gradient written over the logits,
 * ignored rows (−1) included.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, Tensor } from '../../backend.ts';
import { openTestGpu, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';
import { rotaryOf } from '../../rotary.ts';
import { tinyConfig } from '../../test-models.test-util.ts';

const { gpu, skip } = await openTestGpu();

// Row reductions of up to ~1,000 terms in f32 in tree order (the CPU sums in double, in order),
// exp/log/sqrt in f32: relative errors of order 1e-7–1e-6 measured, so 1e-5 still catches any
// indexing, masking or race mistake (those give errors ≈ 1). The dw column sums (64 rows) and the
// rotations (angle reduced exactly, then sin/cos in f32) are held to the same bound.
const TOLERANCE = 1e-5;

type Inputs = Record<string, Float32Array | Int32Array>;
type Op = (be: Backend, t: Record<string, Tensor>) => void;

/** Runs `op` on both backends and asserts every output agrees within TOLERANCE. */
async function check(t: { diagnostic(m: string): void }, inputs: Inputs, op: Op, outputs: string[]): Promise<void> {
  const [g, c] = await onBoth(gpu as Backend, inputs, op, outputs);
  for (const name of outputs) {
    const err = maxRelativeError(g[name]!, c[name]!);
    t.diagnostic(`${name}: max relative error ${err.toExponential(2)}`);
    assert.ok(err <= TOLERANCE, `${name}: max relative error ${err} > ${TOLERANCE}`);
  }
}

for (const [T, d] of [[1, 1], [3, 5], [7, 257], [16, 96], [64, 1000]] as const) {
  test(`rmsnorm and rmsnormBackward match the CPU (T=${T}, d=${d})`, { skip }, async (t) => {
    const x = randomArray(T * d, 1 + d, 3), w = randomArray(d, 2 + d, 2);
    await check(t, { out: randomArray(T * d, 3), rstd: randomArray(T, 4), x, w }, (be, a) => be.rmsnorm(a.out!, a.rstd!, a.x!, a.w!, T, d, 1e-5), ['out', 'rstd']);
    // dx and dw start non-zero: both accumulate
    const rstd = Float32Array.from(randomArray(T, 5, 0.5), (r) => 1 + r);
    const inputs = { dx: randomArray(T * d, 6), dw: randomArray(d, 7), dOut: randomArray(T * d, 8), x, w, rstd };
    await check(t, inputs, (be, a) => be.rmsnormBackward(a.dx!, a.dw!, a.dOut!, a.x!, a.w!, a.rstd!, T, d), ['dx', 'dw']);
    await check(t, inputs, (be, a) => be.rmsnormBackward(a.dx!, null, a.dOut!, a.x!, a.w!, a.rstd!, T, d), ['dx', 'dw']);
  });
}

test('rmsnorm and crossEntropy over more than 65,535 rows (2-D grid of row workgroups)', { skip }, async (t) => {
  const T = 65_535 + 7, d = 2, V = 3;
  await check(t, { out: new Float32Array(T * d), rstd: new Float32Array(T), x: randomArray(T * d, 80, 3), w: randomArray(d, 81) }, (be, a) => be.rmsnorm(a.out!, a.rstd!, a.x!, a.w!, T, d, 1e-5), ['out', 'rstd']);
  const targets = Int32Array.from({ length: T }, (_, i) => (i % 5 === 4 ? -1 : i % V));
  await check(t, { losses: new Float32Array(T), logits: randomArray(T * V, 82, 4), targets }, (be, a) => be.crossEntropy(a.losses!, a.logits!, a.logits!, a.targets!, T, V, 0.5), ['losses', 'logits']);
});

// rotaries as the engine builds them: plain, Llama 3 scaled, partial (a third of each head passes)
const llama3 = { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } as const;
const rotary = (hd: number, theta: number, o: { rotaryDim?: number; scaled?: boolean } = {}) =>
  rotaryOf(tinyConfig({ headDim: hd, ropeTheta: theta, ...(o.rotaryDim ? { rotaryDim: o.rotaryDim } : {}), ...(o.scaled ? { ropeScaling: llama3 } : {}) }), 0)!;
const ropeShapes = [
  { B: 1, S: 1, nHeads: 1, hd: 2, rotary: rotary(2, 10_000), offset: 0 },
  { B: 2, S: 5, nHeads: 3, hd: 8, rotary: rotary(8, 10_000), offset: 0 },
  { B: 2, S: 7, nHeads: 4, hd: 16, rotary: rotary(16, 500_000, { scaled: true }), offset: 3_000 },
  { B: 1, S: 33, nHeads: 2, hd: 64, rotary: rotary(64, 10_000), offset: 30_000 },
  { B: 2, S: 6, nHeads: 3, hd: 12, rotary: rotary(12, 10_000, { rotaryDim: 8 }), offset: 5 },
];
for (const { B, S, nHeads, hd, rotary, offset } of ropeShapes) {
  test(`rope matches the CPU (B=${B} S=${S} nHeads=${nHeads} hd=${hd} rotary ${rotary.key} offset=${offset})`, { skip }, async (t) => {
    const x = randomArray(B * S * nHeads * hd, 10 + hd, 2);
    await check(t, { x }, (be, a) => be.rope(a.x!, B, S, nHeads, hd, rotary, offset, false), ['x']);
    await check(t, { x }, (be, a) => be.rope(a.x!, B, S, nHeads, hd, rotary, offset, true), ['x']);
  });
}

for (const [rows, nHeads, hd, r] of [[1, 1, 2, rotary(2, 10_000)], [5, 3, 8, rotary(8, 10_000)], [9, 2, 64, rotary(64, 500_000, { scaled: true })], [4, 2, 12, rotary(12, 10_000, { rotaryDim: 8 })]] as const) {
  test(`ropeRows matches the CPU (rows=${rows} nHeads=${nHeads} hd=${hd} rotary ${r.key})`, { skip }, async (t) => {
    const positions = Int32Array.from(randomArray(rows, 20 + rows), (v, i) => (i === 0 ? 0 : Math.floor(((v + 1) / 2) * 100_000)));
    await check(t, { x: randomArray(rows * nHeads * hd, 21, 2), positions }, (be, a) => be.ropeRows(a.x!, a.positions!, rows, nHeads, hd, r), ['x']);
  });
}

for (const [T, V] of [[1, 1], [5, 37], [9, 300], [4, 1000]] as const) {
  test(`crossEntropy matches the CPU (T=${T}, V=${V})`, { skip }, async (t) => {
    const logits = randomArray(T * V, 30 + V, 10);
    // every other row from the second is ignored (−1); the others hit targets across the row
    const targets = Int32Array.from({ length: T }, (_, i) => (i % 2 === 1 ? -1 : (i * 7919 + 3) % V));
    const gradScale = 1 / T;
    await check(t, { losses: randomArray(T, 31), logits, targets }, (be, a) => be.crossEntropy(a.losses!, null, a.logits!, a.targets!, T, V, 0), ['losses', 'logits']);
    const inputs = { losses: randomArray(T, 32), dLogits: randomArray(T * V, 33), logits, targets };
    await check(t, inputs, (be, a) => be.crossEntropy(a.losses!, a.dLogits!, a.logits!, a.targets!, T, V, gradScale), ['losses', 'dLogits', 'logits']);
    await check(t, { losses: randomArray(T, 34), logits, targets }, (be, a) => be.crossEntropy(a.losses!, a.logits!, a.logits!, a.targets!, T, V, gradScale), ['losses', 'logits']);
  });
}
