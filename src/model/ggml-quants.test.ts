import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GgmlQuantError, QUANT_FORMATS, dequantize, quantize, quantizedByteLength } from './ggml-quants.ts';
import type { QuantType } from './ggml-quants.ts';
import { halfToFloat32 } from './safetensors.ts';

const types: QuantType[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/** Deterministic pseudo-Gaussian values (sum of uniforms), scale `sigma`. */
function gaussian(n: number, seed: number, sigma = 1): Float32Array {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return new Float32Array(n).map(() => (next() + next() + next() + next() - 2) * sigma * Math.sqrt(3));
}

test('byte sizes are the ggml block sizes', () => {
  assert.equal(quantizedByteLength('Q8_0', 64), 68);
  assert.equal(quantizedByteLength('Q4_0', 64), 36);
  assert.equal(quantizedByteLength('Q4_K', 512), 288);
  assert.equal(quantizedByteLength('Q6_K', 256), 210);
  for (const t of types) assert.throws(() => quantize(t, new Float32Array(QUANT_FORMATS[t].block + 1)), GgmlQuantError);
  assert.throws(() => quantize('Q8_0', new Float32Array(32).fill(Number.NaN)), GgmlQuantError);
  assert.throws(() => dequantize('Q8_0', new Uint8Array(33), 32), GgmlQuantError);
});

test('Q8_0 layout: f16 d = max|x|/127, then round(x/d) as signed bytes', () => {
  const x = new Float32Array(32).map((_, i) => i - 16); // max |x| = 16
  const bytes = quantize('Q8_0', x);
  const d = Math.f16round(16 / 127);
  const view = new DataView(bytes.buffer);
  assert.equal(halfToFloat32(new Uint16Array([view.getUint16(0, true)]))[0], d);
  for (let i = 0; i < 32; i++) assert.equal(view.getInt8(2 + i), Math.sign(i - 16) * Math.round(Math.abs(((i - 16) * 127) / 16)), `q[${i}]`);
  const y = dequantize('Q8_0', bytes, 32);
  for (let i = 0; i < 32; i++) assert.equal(y[i], Math.fround(view.getInt8(2 + i) * d));
});

test('Q4_0 layout: d = m/−8 from the largest-magnitude value, low nibbles elements 0–15, high 16–31', () => {
  const x = new Float32Array(32).map((_, i) => i); // m = 31 → d = −3.875 (exact in f16)
  const bytes = quantize('Q4_0', x);
  assert.equal(bytes[0]! | (bytes[1]! << 8), 0xc3c0); // −3.875 as f16
  const q = (v: number) => Math.min(15, Math.trunc(v / -3.875 + 8.5));
  for (let j = 0; j < 16; j++) {
    assert.equal(bytes[2 + j]! & 15, q(j), `low nibble ${j}`);
    assert.equal(bytes[2 + j]! >> 4, q(j + 16), `high nibble ${j}`);
  }
  const y = dequantize('Q4_0', bytes, 32);
  assert.ok(y[0] === 0 && y[31] === 31);
  for (let i = 0; i < 32; i++) assert.equal(y[i], (q(i) - 8) * -3.875);
});

test('Q4_K decodes hand-packed scales and mins (6-bit values above 15 use the high bits)', () => {
  const block = new Uint8Array(144);
  block.set([0x00, 0x3c, 0x00, 0x38]); // d = 1, dmin = 0.5
  // every sub-block: sc = 33 (0b100001), m = 18 (0b010010)
  for (let s = 0; s < 4; s++) {
    block[4 + s] = 33 | (2 << 6); // sc low 6 bits | high 2 bits of sc[s + 4]
    block[4 + s + 4] = 18 | (1 << 6); // m low 6 bits | high 2 bits of m[s + 4]
    block[4 + s + 8] = (33 & 15) | ((18 & 15) << 4);
  }
  block.fill(0xc3, 16); // low nibble 3, high nibble 12
  const y = dequantize('Q4_K', block, 256);
  for (let e = 0; e < 256; e++) assert.equal(y[e], (e & 32) === 0 ? 33 * 3 - 9 : 33 * 12 - 9, `element ${e}`);
});

test('Q6_K decodes hand-packed low and high bits with signed sub-block scales', () => {
  const block = new Uint8Array(210);
  block.fill(0x21, 0, 128); // ql: low nibble 1, high nibble 2
  block.fill(0b11_10_01_00, 128, 192); // qh: quarter c gets high bits c
  for (let s = 0; s < 16; s++) block[192 + s] = (s - 8) & 0xff;
  block.set([0x00, 0x38], 208); // d = 0.5
  const y = dequantize('Q6_K', block, 256);
  const qOfQuarter = [1 | (0 << 4), 1 | (1 << 4), 2 | (2 << 4), 2 | (3 << 4)];
  for (let e = 0; e < 256; e++) {
    const c = (e >> 5) & 3;
    assert.equal(y[e], 0.5 * ((e >> 4) - 8) * (qOfQuarter[c]! - 32), `element ${e}`);
  }
});

/** Largest error allowed per element for one block (from the block's own scales). */
function checkBlockBounds(type: QuantType, x: Float32Array, y: Float32Array): void {
  const f = QUANT_FORMATS[type];
  for (let b = 0; b < x.length / f.block; b++) {
    const xs = x.subarray(b * f.block, (b + 1) * f.block), ys = y.subarray(b * f.block, (b + 1) * f.block);
    let amax = 0, lo = 0, hi = 0;
    for (const v of xs) {
      amax = Math.max(amax, Math.abs(v));
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    // step between levels; the slack covers the f16 scales (127 levels × 2⁻¹¹ relative) and the 6/8-bit sub-block scales
    const step = type === 'Q8_0' ? amax / 127 : type === 'Q4_0' ? amax / 8 : type === 'Q6_K' ? amax / 31 : (hi - lo) / 15;
    const allowed = type === 'Q8_0' ? 0.57 * step + 1e-7 : type === 'Q6_K' ? 1.5 * step + 1e-6 : 1.05 * step + 1e-6;
    for (let i = 0; i < f.block; i++) {
      assert.ok(Math.abs(xs[i]! - ys[i]!) <= allowed, `${type} block ${b} element ${i}: ${xs[i]} → ${ys[i]}, allowed ±${allowed}`);
    }
  }
}

test('round trips stay within each format\'s step (property test)', () => {
  for (const type of types) {
    const block = QUANT_FORMATS[type].block;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.double({ min: 0.05, max: 1e3, noNaN: true }), // below, f16 scales go subnormal and lose bits
        (blocks, seed, sigma) => {
          const x = gaussian(blocks * block, seed, sigma);
          const bytes = quantize(type, x);
          assert.equal(bytes.length, quantizedByteLength(type, x.length));
          checkBlockBounds(type, x, dequantize(type, bytes, x.length));
        },
      ),
      { numRuns: 40 },
    );
  }
});

test('constant, zero and single-spike blocks', () => {
  for (const type of types) {
    const n = QUANT_FORMATS[type].block;
    assert.ok(dequantize(type, quantize(type, new Float32Array(n)), n).every((v) => v === 0), `${type} zeros`);
    const spike = new Float32Array(n);
    spike[5] = -2.5;
    const y = dequantize(type, quantize(type, spike), n);
    assert.ok(Math.abs(y[5]! + 2.5) < 0.02, `${type} spike ${y[5]}`);
    for (let i = 0; i < n; i++) if (i !== 5) assert.ok(Math.abs(y[i]!) < 0.2, `${type} ${i}: ${y[i]}`);
  }
});

test('Q8_0 and Q4_0 re-quantise their own output to the same bytes', () => {
  for (const type of ['Q8_0', 'Q4_0'] as const) {
    const x = gaussian(256, 7);
    const bytes = quantize(type, x);
    assert.deepEqual(quantize(type, dequantize(type, bytes, 256)), bytes, type);
  }
});

test('error on Gaussian data: RMS relative to σ as expected for the bit widths', () => {
  const x = gaussian(256 * 64, 3);
  const rms = (type: QuantType) => {
    const y = dequantize(type, quantize(type, x), x.length);
    let s = 0;
    for (let i = 0; i < x.length; i++) s += (x[i]! - y[i]!) ** 2;
    return Math.sqrt(s / x.length);
  };
  const r = Object.fromEntries(types.map((t) => [t, rms(t)]));
  assert.ok(r.Q8_0! < 0.01, `Q8_0 ${r.Q8_0}`);
  assert.ok(r.Q6_K! < 0.03, `Q6_K ${r.Q6_K}`);
  assert.ok(r.Q4_K! < 0.11, `Q4_K ${r.Q4_K}`);
  assert.ok(r.Q4_0! < 0.13, `Q4_0 ${r.Q4_0}`);
  assert.ok(r.Q8_0! < r.Q6_K! && r.Q6_K! < r.Q4_K! && r.Q4_K! < r.Q4_0!, JSON.stringify(r));
});
