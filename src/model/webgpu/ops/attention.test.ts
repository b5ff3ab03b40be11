/**
 * The WebGPU flash-attention kernels against the naive S×S reference (and so against the CPU
 * backend, which passes the same checks in cpu/flash-attention.test.ts): forward (out, lse) and
 * backward (dq, dk, dv) over multi-head and grouped kv heads, sequence lengths that are not
 * multiples of the 64-key tile (and longer than it), batches of one and two, sliding windows
 * (1, shorter and longer than a tile, wider than S) and scores scaled by other than 1/√hd.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referenceAttention, referenceAttentionBackward } from '../../attention-reference.test-util.ts';
import type { AttentionShape } from '../../cpu/flash-attention.ts';
import { openTestGpu, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';

const { gpu, skip } = await openTestGpu();

// Every output is a sum of at most ~280 f32 products (hd for scores, S for out and dq, S·nH/nKV
// for dk and dv), accumulated in another order than the double reference, with exp in f32:
// errors stay near 1e-6, so 2e-5 leaves a margin while a masking, indexing or scaling slip gives
// errors of order 1e-2 to 1.
const TOLERANCE = 2e-5;

const shapes: AttentionShape[] = [
  { B: 1, S: 1, nH: 4, nKV: 4, hd: 8, scale: 1 / Math.sqrt(8), window: 0 },
  { B: 2, S: 7, nH: 4, nKV: 2, hd: 8, scale: 1 / Math.sqrt(8), window: 0 },
  { B: 2, S: 7, nH: 4, nKV: 2, hd: 8, scale: 0.6, window: 3 },
  { B: 1, S: 33, nH: 4, nKV: 2, hd: 16, scale: 0.25, window: 1 },
  { B: 2, S: 17, nH: 4, nKV: 4, hd: 16, scale: 0.25, window: 40 },
  { B: 2, S: 13, nH: 4, nKV: 1, hd: 8, scale: 0.35, window: 0 },
  { B: 1, S: 140, nH: 2, nKV: 1, hd: 8, scale: 0.35, window: 0 }, // rows longer than two 64-key tiles
  { B: 1, S: 140, nH: 2, nKV: 1, hd: 8, scale: 0.35, window: 70 },
  { B: 1, S: 150, nH: 2, nKV: 1, hd: 72, scale: 0.1, window: 30 }, // hd beyond one dim per thread
];
const name = ({ B, S, nH, nKV, hd, scale, window }: AttentionShape) => `B=${B} S=${S} nH=${nH} nKV=${nKV} hd=${hd} scale=${scale.toFixed(3)} window=${window}`;

for (const shape of shapes) {
  const { B, S, nH, nKV, hd, scale, window } = shape;
  const T = B * S, qn = T * nH * hd, kn = T * nKV * hd;

  test(`flash attention forward matches the S×S reference and the CPU (${name(shape)})`, { skip }, async (t) => {
    if (typeof gpu === 'string') return;
    const inputs = {
      q: randomArray(qn, 11 + S, 2), k: randomArray(kn, 12 + S, 2), v: randomArray(kn, 13 + S),
      out: randomArray(qn, 14), lse: randomArray(B * nH * S, 15), // garbage: both must be overwritten
    };
    const ref = referenceAttention(inputs.q, inputs.k, inputs.v, shape);
    const [g, c] = await onBoth(gpu, inputs, (be, x) => be.attention(x.out!, x.lse!, x.q!, x.k!, x.v!, B, S, nH, nKV, hd, scale, window), ['out', 'lse']);
    for (const key of ['out', 'lse'] as const) {
      const err = maxRelativeError(g[key]!, ref[key]), errCpu = maxRelativeError(g[key]!, c[key]!);
      t.diagnostic(`${key} ${err.toExponential(2)} (CPU ${errCpu.toExponential(2)})`);
      assert.ok(err < TOLERANCE && errCpu < TOLERANCE, `${key}: max relative error ${err} (against the CPU ${errCpu})`);
    }
  });

  test(`flash attention backward matches the S×S reference and the CPU (${name(shape)})`, { skip }, async (t) => {
    if (typeof gpu === 'string') return;
    const q = randomArray(qn, 21 + S, 2), k = randomArray(kn, 22 + S, 2), v = randomArray(kn, 23 + S), dOut = randomArray(qn, 24 + S);
    // the forward's out and lse (from the reference), the same input to both backward passes
    const { out, lse } = referenceAttention(q, k, v, shape);
    const ref = referenceAttentionBackward(dOut, q, k, v, shape);
    const inputs = {
      q, k, v, out, lse, dOut,
      dq: randomArray(qn, 25), dk: randomArray(kn, 26), dv: randomArray(kn, 27), // overwritten, not accumulated
    };
    const [g, c] = await onBoth(gpu, inputs, (be, x) => be.attentionBackward(x.dq!, x.dk!, x.dv!, x.dOut!, x.out!, x.q!, x.k!, x.v!, x.lse!, B, S, nH, nKV, hd, scale, window), ['dq', 'dk', 'dv']);
    for (const key of ['dq', 'dk', 'dv'] as const) {
      const err = maxRelativeError(g[key]!, ref[key]), errCpu = maxRelativeError(g[key]!, c[key]!);
      t.diagnostic(`${key} ${err.toExponential(2)} (CPU ${errCpu.toExponential(2)})`);
      assert.ok(err < TOLERANCE && errCpu < TOLERANCE, `${key}: max relative error ${err} (against the CPU ${errCpu})`);
    }
  });
}

test('flash attention on WebGPU refuses head widths past 256 and bad windows', { skip }, () => {
  if (typeof gpu === 'string') return;
  const t = gpu.zeros(16);
  assert.throws(() => gpu.attention(t, t, t, t, t, 1, 1, 1, 1, 260, 1, 0), /head widths up to 256/);
  assert.throws(() => gpu.attention(t, t, t, t, t, 1, 1, 1, 1, 8, 1, -2), /window/);
  gpu.free(t);
});
