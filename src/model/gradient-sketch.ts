/**
 * A seeded random projection of a long gradient vector to a few hundred or thousand numbers
 * (a CountSketch: each coordinate j is added, with a random sign, to one random bucket), so the
 * dot product of two sketches estimates the dot product of the gradients (unbiased; variance
 * shrinks as 1/dimension). Training examples' LoRA gradients are sketched at training time and an
 * output's gradient at inference with the same seed: their similarity is gradient influence
 * (TracIn / LoGra style) at a cost linear in the number of parameters.
 */
export interface GradientSketch {
  readonly dimension: number;
  readonly seed: number;
  /** Number of gradient coordinates it projects. */
  readonly inputLength: number;
  /** `out += scale · S·g` for a gradient given as consecutive pieces (e.g. one per LoRA tensor). */
  project(pieces: readonly Float32Array[], out: Float32Array, scale?: number): void;
}

/** A gradient whose length does not match the sketch. */
export class SketchLengthError extends Error {
  override name = 'SketchLengthError';
}

function hash32(x: number): number {
  // a 32-bit integer mixer (finaliser of MurmurHash3)
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Builds the sketch of a `inputLength`-long gradient into `dimension` numbers for a seed; the same
 * arguments always give the same projection.
 *
 * @example
 * const sketch = createGradientSketch(lora.parameterCount, 1024, 7);
 * const s = new Float32Array(1024);
 * sketch.project(gradPieces, s);
 */
export function createGradientSketch(inputLength: number, dimension: number, seed: number): GradientSketch {
  if (!Number.isInteger(dimension) || dimension < 1) throw new RangeError('sketch dimension must be a positive integer');
  // bucket in the low bits, sign in the top bit of one 32-bit hash per coordinate
  const codes = new Uint32Array(inputLength);
  const salt = hash32(seed ^ 0x9e3779b9);
  for (let j = 0; j < inputLength; j++) codes[j] = hash32(j ^ salt) ^ hash32(j + salt);
  const buckets = new Uint32Array(inputLength);
  const signs = new Float32Array(inputLength);
  for (let j = 0; j < inputLength; j++) {
    buckets[j] = (codes[j]! & 0x7fffffff) % dimension;
    signs[j] = codes[j]! >>> 31 ? -1 : 1;
  }
  return {
    dimension,
    seed,
    inputLength,
    project(pieces, out, scale = 1) {
      const total = pieces.reduce((n, p) => n + p.length, 0);
      if (total !== inputLength) throw new SketchLengthError(`gradient has ${total} coordinates, the sketch expects ${inputLength}`);
      if (out.length !== dimension) throw new SketchLengthError(`output has ${out.length} entries, the sketch has dimension ${dimension}`);
      let j = 0;
      for (const piece of pieces) {
        for (let i = 0; i < piece.length; i++, j++) out[buckets[j]!]! += scale * signs[j]! * piece[i]!;
      }
    },
  };
}
