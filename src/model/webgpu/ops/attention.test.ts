/**
 * The WebGPU attention kernels against the CPU reference: forward (out and the kept softmax
 * probabilities, zeros above the diagonal included) and backward (dq, dk, dv), over shapes with
 * multi-head and grouped kv heads, sequence lengths that are not multiples of the 64-thread row
 * workgroup (and one longer than it), batches of one and two.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpu, openTestGpu, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';

const { gpu, skip } = await openTestGpu();

// Every output is a sum of at most ~140 f32 products (hd for scores, S for out and dq, S·nH/nKV
// for dk and dv), accumulated in a different order than the CPU loops, with exp in f32 against the
// CPU's double: measured errors stay below 5e-7, so 1e-4 leaves a wide margin while any indexing,
// scaling or masking mistake gives errors of order 1e-2 to 1.
const TOLERANCE = 1e-4;

const shapes = [
  { B: 1, S: 1, nH: 4, nKV: 4, hd: 8 },
  { B: 2, S: 7, nH: 4, nKV: 2, hd: 8 },
  { B: 1, S: 33, nH: 4, nKV: 2, hd: 16 },
  { B: 2, S: 17, nH: 4, nKV: 4, hd: 16 },
  { B: 2, S: 13, nH: 4, nKV: 1, hd: 8 },
  { B: 1, S: 70, nH: 2, nKV: 1, hd: 8 }, // rows longer than the 64-thread workgroup
];
const name = ({ B, S, nH, nKV, hd }: (typeof shapes)[number]) => `B=${B} S=${S} nH=${nH} nKV=${nKV} hd=${hd}`;

for (const shape of shapes) {
  const { B, S, nH, nKV, hd } = shape;
  const T = B * S, qn = T * nH * hd, kn = T * nKV * hd, pn = B * nH * S * S;

  test(`attention forward matches the CPU (${name(shape)})`, { skip }, async (t) => {
    if (typeof gpu === 'string') return;
    const inputs = {
      q: randomArray(qn, 11 + S, 2), k: randomArray(kn, 12 + S, 2), v: randomArray(kn, 13 + S),
      out: randomArray(qn, 14), probs: randomArray(pn, 15), // garbage: both must be overwritten
    };
    const [g, c] = await onBoth(gpu, inputs, (be, x) => be.attention(x.out!, x.probs!, x.q!, x.k!, x.v!, B, S, nH, nKV, hd), ['out', 'probs']);
    const outErr = maxRelativeError(g.out!, c.out!), probsErr = maxRelativeError(g.probs!, c.probs!);
    t.diagnostic(`out ${outErr.toExponential(2)}, probs ${probsErr.toExponential(2)}`);
    assert.ok(outErr < TOLERANCE, `out: max relative error ${outErr}`);
    assert.ok(probsErr < TOLERANCE, `probs: max relative error ${probsErr}`);
    for (let r = 0; r < B * nH * S; r++) {
      for (let j = (r % S) + 1; j < S; j++) assert.equal(g.probs![r * S + j], 0, 'probs above the diagonal');
    }
  });

  test(`attention backward matches the CPU (${name(shape)})`, { skip }, async (t) => {
    if (typeof gpu === 'string') return;
    const q = randomArray(qn, 21 + S, 2), k = randomArray(kn, 22 + S, 2), v = randomArray(kn, 23 + S);
    // real softmax probabilities from the CPU forward, the same input to both backward passes
    const ref = cpu();
    const [qT, kT, vT, outT, probsT] = [ref.upload(q), ref.upload(k), ref.upload(v), ref.zeros(qn), ref.zeros(pn)];
    ref.attention(outT, probsT, qT, kT, vT, B, S, nH, nKV, hd);
    const probs = await ref.read(probsT);
    const inputs = {
      q, k, v, probs, dOut: randomArray(qn, 24 + S),
      dq: randomArray(qn, 25), dk: randomArray(kn, 26), dv: randomArray(kn, 27), // overwritten, not accumulated
    };
    const [g, c] = await onBoth(gpu, inputs, (be, x) => be.attentionBackward(x.dq!, x.dk!, x.dv!, x.dOut!, x.q!, x.k!, x.v!, x.probs!, B, S, nH, nKV, hd), ['dq', 'dk', 'dv']);
    for (const key of ['dq', 'dk', 'dv']) {
      const err = maxRelativeError(g[key]!, c[key]!);
      t.diagnostic(`${key} ${err.toExponential(2)}`);
      assert.ok(err < TOLERANCE, `${key}: max relative error ${err}`);
    }
  });
}
