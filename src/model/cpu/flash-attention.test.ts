/**
 * The CPU backend's flash attention against the naive S×S reference: out, lse, dq, dk, dv over
 * windows 0 (full causal), 1, a few sizes and one wider than S; grouped-query and multi-head;
 * odd S, one S spanning several query blocks and key tiles, a batch of two; a scale that is not
 * 1/√hd. Also paged attention with a window against the same reference.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../backend.ts';
import { AttentionWindowError } from '../attention-window.ts';
import { referenceAttention, referenceAttentionBackward } from '../attention-reference.test-util.ts';
import { createBackend } from '../create-backend.ts';
import { seededRandom } from '../random.ts';
import { KEY_TILE, QUERY_BLOCK, type AttentionShape } from './flash-attention.ts';

// Outputs are sums of ≤ S·nH/nKV f32 products accumulated in another order than the double
// reference: errors stay near 1e-6; a masking, indexing or scaling slip gives 1e-2 and more.
const TOLERANCE = 2e-5;

function random(n: number, seed: number, scale = 1): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** Largest |a − b| relative to the largest |b| (or 1). */
function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let top = 1, worst = 0;
  for (const x of b) top = Math.max(top, Math.abs(x));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / top);
  return worst;
}

const S_LONG = QUERY_BLOCK + KEY_TILE + 37; // several query blocks and key tiles, none full at the end
const cases: AttentionShape[] = [
  { B: 1, S: 1, nH: 2, nKV: 2, hd: 8, scale: 1 / Math.sqrt(8), window: 0 },
  { B: 2, S: 7, nH: 4, nKV: 2, hd: 8, scale: 1 / Math.sqrt(8), window: 0 },
  { B: 2, S: 7, nH: 4, nKV: 2, hd: 8, scale: 0.6, window: 3 },
  { B: 1, S: 13, nH: 4, nKV: 1, hd: 4, scale: 0.5, window: 1 },
  { B: 1, S: 13, nH: 2, nKV: 2, hd: 16, scale: 0.25, window: 20 },
  { B: 1, S: S_LONG, nH: 4, nKV: 2, hd: 16, scale: 0.25, window: 0 },
  { B: 2, S: S_LONG, nH: 2, nKV: 1, hd: 8, scale: 0.35, window: 50 },
  { B: 1, S: S_LONG, nH: 2, nKV: 1, hd: 8, scale: 0.35, window: KEY_TILE + 5 },
];
const label = (c: AttentionShape) => `B=${c.B} S=${c.S} nH=${c.nH} nKV=${c.nKV} hd=${c.hd} scale=${c.scale.toFixed(3)} window=${c.window}`;

describe('CPU flash attention', () => {
  let be: Backend;
  it('opens the engine backend (its kernels: native where built, else WebAssembly; one thread)', () => {
    be = createBackend({ threads: 1 });
  });

  for (const c of cases) {
    it(`forward and backward match the S×S reference (${label(c)})`, async () => {
      const { B, S, nH, nKV, hd, scale, window } = c;
      const T = B * S, qn = T * nH * hd, kn = T * nKV * hd;
      const q = random(qn, S + 1, 1.5), k = random(kn, S + 2, 1.5), v = random(kn, S + 3), dOut = random(qn, S + 4);
      const ref = referenceAttention(q, k, v, c), grads = referenceAttentionBackward(dOut, q, k, v, c);
      // garbage in every output: all must be overwritten
      const [qT, kT, vT, dOutT] = [q, k, v, dOut].map((x) => be.upload(x));
      const outT = be.upload(random(qn, 9)), lseT = be.upload(random(B * nH * S, 10));
      const dqT = be.upload(random(qn, 11)), dkT = be.upload(random(kn, 12)), dvT = be.upload(random(kn, 13));
      be.attention(outT, lseT, qT!, kT!, vT!, B, S, nH, nKV, hd, scale, window);
      be.attentionBackward(dqT, dkT, dvT, dOutT!, outT, qT!, kT!, vT!, lseT, B, S, nH, nKV, hd, scale, window);
      const errors = {
        out: relativeError(await be.read(outT), ref.out), lse: relativeError(await be.read(lseT), ref.lse),
        dq: relativeError(await be.read(dqT), grads.dq), dk: relativeError(await be.read(dkT), grads.dk), dv: relativeError(await be.read(dvT), grads.dv),
      };
      for (const [name, err] of Object.entries(errors)) assert.ok(err < TOLERANCE, `${name}: relative error ${err}`);
      for (const t of [qT, kT, vT, dOutT, outT, lseT, dqT, dkT, dvT]) be.free(t!);
    });
  }

  it('a window changes the result exactly where it hides keys', async () => {
    const c = { B: 1, S: 9, nH: 2, nKV: 1, hd: 8, scale: 0.4, window: 4 };
    const q = random(9 * 16, 1), k = random(9 * 8, 2), v = random(9 * 8, 3);
    const full = referenceAttention(q, k, v, { ...c, window: 0 }).out, windowed = referenceAttention(q, k, v, c).out;
    const [qT, kT, vT] = [q, k, v].map((x) => be.upload(x));
    const outT = be.zeros(9 * 16), lseT = be.zeros(2 * 9);
    be.attention(outT, lseT, qT!, kT!, vT!, 1, 9, 2, 1, 8, 0.4, 4);
    const out = await be.read(outT);
    // rows 0…3 see at most 4 keys: identical to full causal; rows 4… lose keys and differ
    for (let s = 0; s < 9; s++) {
      const row = (x: Float32Array) => x.subarray(s * 16, s * 16 + 16);
      const diff = relativeError(row(out), row(full));
      if (s < 4) assert.ok(diff < TOLERANCE, `row ${s} should equal full attention`);
      else assert.ok(diff > 1e-3, `row ${s} should differ from full attention`);
      assert.ok(relativeError(row(out), row(windowed)) < TOLERANCE);
    }
  });

  it('paged attention with a window matches the reference over a shuffled block table', async () => {
    const c = { B: 1, S: 11, nH: 4, nKV: 2, hd: 8, scale: 0.3, window: 4 };
    const { S, nH, nKV, hd } = c, kvd = nKV * hd, blockSize = 4, maxBlocks = 3, table = [2, 0, 3];
    const q = random(S * nH * hd, 5), k = random(S * kvd, 6), v = random(S * kvd, 7);
    for (const window of [0, 1, 4]) {
      const ref = referenceAttention(q, k, v, { ...c, window }).out;
      // every row of the sequence at its own position, keys and values in their slots
      const kc = new Float32Array(16 * kvd), vc = new Float32Array(16 * kvd);
      for (let p = 0; p < S; p++) {
        const slot = table[Math.floor(p / blockSize)]! * blockSize + (p % blockSize);
        kc.set(k.subarray(p * kvd, (p + 1) * kvd), slot * kvd);
        vc.set(v.subarray(p * kvd, (p + 1) * kvd), slot * kvd);
      }
      const tables = be.upload(Int32Array.from({ length: S * maxBlocks }, (_, i) => table[i % maxBlocks]!));
      const lengths = be.upload(Int32Array.from({ length: S }, (_, i) => i + 1));
      const outT = be.zeros(S * nH * hd);
      be.pagedAttention(outT, be.upload(q), be.upload(kc), be.upload(vc), tables, lengths, S, nH, nKV, hd, blockSize, maxBlocks, c.scale, window);
      const err = relativeError(await be.read(outT), ref);
      assert.ok(err < TOLERANCE, `window ${window}: relative error ${err}`);
    }
  });

  it('rejects a window that is not a whole number ≥ 0', () => {
    const t = be.zeros(16);
    assert.throws(() => be.attention(t, t, t, t, t, 1, 2, 1, 1, 8, 1, -1), AttentionWindowError);
    assert.throws(() => be.attention(t, t, t, t, t, 1, 2, 1, 1, 8, 1, 2.5), AttentionWindowError);
  });

  it('closes the backend', async () => {
    await be.dispose();
  });
});
