/**
 * ggml's 256-element "K" super-block formats (llama.cpp's ggml-common.h layouts), one super-block at a time:
 *
 * - **Q4_K**, 144 bytes: f16 `d`, f16 `dmin`, 12 bytes of packed 6-bit scales and mins for the 8
 *   sub-blocks of 32, then 128 bytes of nibbles. Value = d·sc[s]·q − dmin·m[s], q ∈ 0…15, for
 *   element e in sub-block s = e >> 5; the nibbles come in 4 chunks of 64 elements: byte
 *   16 + 32·(e >> 6) + (e & 31), the low nibble for the chunk's first 32 elements, the high for its last 32.
 *   Scales and mins: for s < 4, sc = scales[s] & 63 and m = scales[s + 4] & 63; for s ≥ 4,
 *   sc = (scales[s + 4] & 15) | (scales[s − 4] >> 6) << 4 and m = (scales[s + 4] >> 4) | (scales[s] >> 6) << 4.
 * - **Q6_K**, 210 bytes: 128 bytes `ql` (low 4 bits), 64 bytes `qh` (high 2 bits), 16 signed
 *   8-bit scales (one per sub-block of 16, s = e >> 4), f16 `d`. Value = d·scale[s]·(q − 32), q ∈ 0…63.
 *   Element e = 128h + 32c + l (h half, c quarter, l < 32): low bits in ql[64h + l + 32·(c & 1)]
 *   (low nibble for c < 2, high for c ≥ 2), high bits in qh[32h + l] at bit 2c.
 *
 * The quantisers are plain: per sub-block, a small search over scales (and mins) with
 * round-to-nearest, refined by least squares; then the sub-block scales are quantised against the
 * super-block's. Good enough for tests, benchmarks and export; not llama.cpp's importance-weighted search.
 */
import { readHalf, roundAway, toHalf, writeHalf } from './ggml-quants-32.ts';
import type { BlockCodec } from './ggml-quants-32.ts';

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

const sub = new Float64Array(32);

/** Squared error of x ≈ scale·q − min over sub[0..n), q = clamp(round((x + min)/scale), 0, nmax). */
function errorOf(n: number, nmax: number, scale: number, min: number): number {
  const inv = scale > 0 ? 1 / scale : 0;
  let e = 0;
  for (let i = 0; i < n; i++) {
    let q = Math.round((sub[i]! + min) * inv);
    q = q < 0 ? 0 : q > nmax ? nmax : q;
    const diff = scale * q - min - sub[i]!;
    e += diff * diff;
  }
  return e;
}

/**
 * The (scale, min) with x ≈ scale·q − min, q = clamp(round((x + min)/scale), 0, nmax), min ≥ 0,
 * minimising the squared error over a few candidate scales (each refined once by least squares).
 * Returns them in `out` [scale, min].
 */
function fitScaleMin(x: Float32Array, xo: number, n: number, nmax: number, out: Float64Array): void {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i]!;
    sub[i] = v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  lo = Math.min(lo, 0);
  out[0] = 0;
  out[1] = -lo;
  if (hi <= lo) return;
  let bestErr = Infinity;
  const min0 = -lo;
  const consider = (s: number, m: number) => {
    const e = errorOf(n, nmax, s, m);
    if (e < bestErr) {
      bestErr = e;
      out[0] = s;
      out[1] = m;
    }
  };
  for (let step = -4; step <= 8; step++) {
    const scale = (hi - lo) / (nmax + step * 0.1), inv = 1 / scale;
    consider(scale, min0);
    // least squares for (s, m) given these q: x ≈ s·q − m
    let sq = 0, sqq = 0, sx = 0, sqx = 0;
    for (let i = 0; i < n; i++) {
      let q = Math.round((sub[i]! + min0) * inv);
      q = q < 0 ? 0 : q > nmax ? nmax : q;
      sq += q; sqq += q * q; sx += sub[i]!; sqx += q * sub[i]!;
    }
    const det = n * sqq - sq * sq;
    if (det > 0) {
      const s = (n * sqx - sq * sx) / det, m = (sq * sqx - sqq * sx) / det;
      if (s > 0) {
        if (m >= 0) consider(s, m);
        else consider(sqx / sqq, 0);
      }
    }
  }
}

/** The symmetric scale s with x ≈ s·q, q ∈ [−32, 31], minimising the squared error over a few candidates. */
function fitSymmetric(x: Float32Array, xo: number, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) if (Math.abs(x[xo + i]!) > Math.abs(m)) m = x[xo + i]!;
  if (m === 0) return 0;
  let best = m / -32, bestErr = Infinity;
  for (let step = -6; step <= 6; step++) {
    const s = m / (-32 + step * 0.25);
    let e = 0;
    for (let i = 0; i < n; i++) {
      const d = s * clamp(roundAway(x[xo + i]! / s), -32, 31) - x[xo + i]!;
      e += d * d;
    }
    if (e < bestErr) {
      bestErr = e;
      best = s;
    }
  }
  return best;
}

/** The 6-bit scale and min of sub-block s of a Q4_K super-block whose scales start at bytes[at]. */
function q4kScaleMin(bytes: Uint8Array, at: number, s: number): [number, number] {
  if (s < 4) return [bytes[at + s]! & 63, bytes[at + s + 4]! & 63];
  return [(bytes[at + s + 4]! & 15) | ((bytes[at + s - 4]! >> 6) << 4), (bytes[at + s + 4]! >> 4) | ((bytes[at + s]! >> 6) << 4)];
}

const scales = new Float64Array(16), mins = new Float64Array(8), fit = new Float64Array(2);
const ls = new Int32Array(8), lm = new Int32Array(8);

/**
 * Q4_K (see the file comment).
 *
 * @example
 * const out = new Uint8Array(144);
 * q4_K.encode(x, 0, out, 0); // x: 256 floats
 */
export const q4_K: BlockCodec = {
  count: 256,
  bytes: 144,
  encode(x, xo, out, oo) {
    let maxScale = 0, maxMin = 0;
    for (let s = 0; s < 8; s++) {
      fitScaleMin(x, xo + 32 * s, 32, 15, fit);
      scales[s] = fit[0]!;
      mins[s] = fit[1]!;
      maxScale = Math.max(maxScale, fit[0]!);
      maxMin = Math.max(maxMin, fit[1]!);
    }
    const dBits = toHalf(maxScale / 63), dminBits = toHalf(maxMin / 63);
    writeHalf(out, oo, dBits);
    writeHalf(out, oo + 2, dminBits);
    const d = readHalf(out, oo), dmin = readHalf(out, oo + 2);
    out.fill(0, oo + 4, oo + 144);
    for (let s = 0; s < 8; s++) {
      ls[s] = d > 0 ? clamp(Math.round(scales[s]! / d), 0, 63) : 0;
      lm[s] = dmin > 0 ? clamp(Math.round(mins[s]! / dmin), 0, 63) : 0;
      const sc = ls[s]!, m = lm[s]!, at = oo + 4;
      if (s < 4) {
        out[at + s] = sc;
        out[at + s + 4] = m;
      } else {
        out[at + s + 4] = (sc & 15) | ((m & 15) << 4);
        out[at + s - 4]! |= (sc >> 4) << 6;
        out[at + s]! |= (m >> 4) << 6;
      }
    }
    for (let e = 0; e < 256; e++) {
      const s = e >> 5;
      const D = Math.fround(d * ls[s]!), M = Math.fround(dmin * lm[s]!);
      const q = D > 0 ? clamp(Math.round((x[xo + e]! + M) / D), 0, 15) : 0;
      const byte = oo + 16 + 32 * (e >> 6) + (e & 31);
      out[byte]! |= (e & 32) === 0 ? q : q << 4;
    }
  },
  decode(bytes, bo, y, yo) {
    const d = readHalf(bytes, bo), dmin = readHalf(bytes, bo + 2);
    for (let s = 0; s < 8; s++) {
      const [sc, m] = q4kScaleMin(bytes, bo + 4, s);
      const D = Math.fround(d * sc), M = Math.fround(dmin * m);
      const qs = bo + 16 + 32 * (s >> 1), shift = (s & 1) * 4;
      for (let l = 0; l < 32; l++) y[yo + 32 * s + l] = ((bytes[qs + l]! >> shift) & 15) * D - M;
    }
  },
};

/**
 * Q6_K (see the file comment).
 *
 * @example
 * const out = new Uint8Array(210);
 * q6_K.encode(x, 0, out, 0); // x: 256 floats
 */
export const q6_K: BlockCodec = {
  count: 256,
  bytes: 210,
  encode(x, xo, out, oo) {
    let maxScale = 0;
    for (let s = 0; s < 16; s++) {
      scales[s] = fitSymmetric(x, xo + 16 * s, 16);
      if (Math.abs(scales[s]!) > Math.abs(maxScale)) maxScale = scales[s]!;
    }
    out.fill(0, oo, oo + 210);
    writeHalf(out, oo + 208, toHalf(maxScale / -128));
    const d = readHalf(out, oo + 208);
    for (let s = 0; s < 16; s++) {
      out[oo + 192 + s] = (d !== 0 ? clamp(roundAway(scales[s]! / d), -128, 127) : 0) & 0xff;
    }
    for (let e = 0; e < 256; e++) {
      const sc = (out[oo + 192 + (e >> 4)]! << 24) >> 24;
      const D = Math.fround(d * sc);
      const q = (D !== 0 ? clamp(roundAway(x[xo + e]! / D), -32, 31) : 0) + 32;
      const h = e >> 7, c = (e >> 5) & 3, l = e & 31;
      const lowByte = oo + 64 * h + l + 32 * (c & 1);
      out[lowByte]! |= c < 2 ? q & 15 : (q & 15) << 4;
      out[oo + 128 + 32 * h + l]! |= (q >> 4) << (2 * c);
    }
  },
  decode(bytes, bo, y, yo) {
    const d = readHalf(bytes, bo + 208);
    for (let e = 0; e < 256; e++) {
      const h = e >> 7, c = (e >> 5) & 3, l = e & 31;
      const low = bytes[bo + 64 * h + l + 32 * (c & 1)]!;
      const q = (c < 2 ? low & 15 : low >> 4) | (((bytes[bo + 128 + 32 * h + l]! >> (2 * c)) & 3) << 4);
      const sc = (bytes[bo + 192 + (e >> 4)]! << 24) >> 24;
      y[yo + e] = Math.fround(d * sc) * (q - 32);
    }
  },
};
