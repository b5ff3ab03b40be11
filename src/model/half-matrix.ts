import { float32ToHalf, halfToFloat32 } from './safetensors.ts';

/** A matrix that half precision cannot hold under any scale: a value is NaN or infinite. */
export class HalfMatrixError extends Error {
  override name = 'HalfMatrixError';
}

/**
 * A matrix in half precision under a power-of-two scale of its own, the form the serving engine
 * reads a frozen adapter's factors in (decision 0034): `bits` = f16(values·2^shift), with `shift`
 * putting the largest |value| in [2^14, 2^15). Nothing overflows, and every value down to 2^-28 of
 * the largest keeps half's 11 significant bits (below, half's subnormals, then 0).
 */
export interface HalfMatrix {
  bits: Uint16Array;
  shift: number;
}

/**
 * The power of two that puts the largest |value| in [2^14, 2^15) (0 for an all-zero matrix).
 *
 * @example
 * halfShift(new Float32Array([0.5, -1])); // 14
 */
export function halfShift(values: Float32Array): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const v = Math.abs(values[i]!);
    if (!(v <= Number.MAX_VALUE)) throw new HalfMatrixError(`value ${i} is ${values[i]}: half precision holds finite values only`);
    if (v > max) max = v;
  }
  if (max === 0) return 0;
  let e = 14 - Math.floor(Math.log2(max));
  // log2 of a value just under a power of two can round up to it: settle e exactly
  while (max * 2 ** e >= 2 ** 15) e--;
  while (max * 2 ** e < 2 ** 14) e++;
  return e;
}

/**
 * `values` in half precision under their own power-of-two scale (round to nearest, ties to even);
 * `out` (as many elements) receives the bits where given.
 *
 * @example
 * const { bits, shift } = toHalfMatrix(a); // a[i] ≈ halfToFloat32(bits)[i]·2^-shift
 */
export function toHalfMatrix(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): HalfMatrix {
  const shift = halfShift(values), scale = 2 ** shift;
  const scaled = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) scaled[i] = values[i]! * scale; // exact: a power of two, in f32's range
  return { bits: float32ToHalf(scaled, out), shift };
}

/**
 * The values a {@link HalfMatrix} holds, as f32 (exact: each is a half times a power of two).
 *
 * @example
 * halfMatrixValues(toHalfMatrix(new Float32Array([1 / 3])))[0]; // 0.333251953125
 */
export function halfMatrixValues(h: HalfMatrix): Float32Array {
  const out = halfToFloat32(h.bits), scale = 2 ** -h.shift;
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}
