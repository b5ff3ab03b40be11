/**
 * ggml's two 32-element block formats (the layouts of llama.cpp's ggml-common.h), one block at a time:
 * - **Q8_0**, 34 bytes: f16 scale `d`, then 32 signed bytes `q`; value i = q[i]·d.
 * - **Q4_0**, 18 bytes: f16 scale `d`, then 16 bytes of nibbles; byte j holds element j in its low
 *   nibble and element j + 16 in its high nibble; value = (nibble − 8)·d.
 * All numbers little-endian. `ggml-quants.ts` applies these to whole rows.
 */
import { float32ToHalf, halfToFloat32 } from './safetensors.ts';

/** Encodes and decodes one block: `count` f32 values ⇄ `bytes` bytes. */
export interface BlockCodec {
  /** Elements per block. */
  readonly count: number;
  /** Bytes per block. */
  readonly bytes: number;
  /** Quantises x[xo .. xo + count) into out[oo .. oo + bytes). */
  encode(x: Float32Array, xo: number, out: Uint8Array, oo: number): void;
  /** Dequantises the block at bytes[bo ..] into y[yo .. yo + count). */
  decode(bytes: Uint8Array, bo: number, y: Float32Array, yo: number): void;
}

const halfIn = new Float32Array(1), halfOut = new Uint16Array(1), halfBits = new Uint16Array(1), halfValue = new Float32Array(1);

/**
 * The f16 bit pattern nearest to `v` (round to nearest even).
 *
 * @example
 * toHalf(1); // 0x3c00
 */
export function toHalf(v: number): number {
  halfIn[0] = v;
  return float32ToHalf(halfIn, halfOut)[0]!;
}

/**
 * The f16 at bytes[at], at + 1 (little-endian) as a number.
 *
 * @example
 * readHalf(new Uint8Array([0x00, 0x3c]), 0); // 1
 */
export function readHalf(bytes: Uint8Array, at: number): number {
  halfBits[0] = bytes[at]! | (bytes[at + 1]! << 8);
  return halfToFloat32(halfBits, halfValue)[0]!;
}

/** Writes an f16 bit pattern little-endian. */
export function writeHalf(bytes: Uint8Array, at: number, bits: number): void {
  bytes[at] = bits & 0xff;
  bytes[at + 1] = bits >>> 8;
}

/** C's roundf: to nearest, halves away from zero. */
export const roundAway = (v: number): number => (v < 0 ? -Math.round(-v) : Math.round(v));

/**
 * Q8_0: d = max|x| / 127, q = round(x / d).
 *
 * @example
 * const out = new Uint8Array(34);
 * q8_0.encode(new Float32Array(32).fill(1), 0, out, 0); // d = 1/127 (as f16), every q = 127
 */
export const q8_0: BlockCodec = {
  count: 32,
  bytes: 34,
  encode(x, xo, out, oo) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[xo + i]!));
    const d = amax / 127, id = d > 0 ? 1 / d : 0;
    writeHalf(out, oo, toHalf(d));
    for (let i = 0; i < 32; i++) out[oo + 2 + i] = roundAway(x[xo + i]! * id) & 0xff;
  },
  decode(bytes, bo, y, yo) {
    const d = readHalf(bytes, bo);
    for (let i = 0; i < 32; i++) y[yo + i] = (((bytes[bo + 2 + i]! << 24) >> 24) * d);
  },
};

/**
 * Q4_0: the value of largest magnitude m (sign kept) maps to −8: d = m / −8, nibble = clamp(⌊x/d + 8.5⌋, 0, 15).
 *
 * @example
 * const out = new Uint8Array(18);
 * q4_0.encode(x, 0, out, 0); // x: 32 floats
 */
export const q4_0: BlockCodec = {
  count: 32,
  bytes: 18,
  encode(x, xo, out, oo) {
    let m = 0;
    for (let i = 0; i < 32; i++) if (Math.abs(x[xo + i]!) > Math.abs(m)) m = x[xo + i]!;
    const d = m / -8, id = d !== 0 ? 1 / d : 0;
    writeHalf(out, oo, toHalf(d));
    const nibble = (v: number) => Math.min(15, Math.trunc(v * id + 8.5));
    for (let j = 0; j < 16; j++) out[oo + 2 + j] = nibble(x[xo + j]!) | (nibble(x[xo + 16 + j]!) << 4);
  },
  decode(bytes, bo, y, yo) {
    const d = readHalf(bytes, bo);
    for (let j = 0; j < 16; j++) {
      const b = bytes[bo + 2 + j]!;
      y[yo + j] = ((b & 0x0f) - 8) * d;
      y[yo + 16 + j] = ((b >>> 4) - 8) * d;
    }
  },
};
