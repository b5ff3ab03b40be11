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

/** A CountSketch per block of parameters, each into its own range of the output (see {@link createBlockedSketch}). */
export interface BlockedSketch {
  readonly dimension: number;
  readonly seed: number;
  /** Each block's range of the output: where its parameters land. */
  readonly blocks: ReadonlyArray<{ offset: number; dimension: number; inputLength: number }>;
  /** `out += S·g` for a gradient given as one piece per parameter tensor, in the order the sketch was built for. */
  project(pieces: readonly Float32Array[], out: Float32Array): void;
}

/**
 * A sketch that keeps blocks of parameters apart: the tensors of block b (e.g. one transformer
 * layer's adapter) are CountSketched, with their own seed, into coordinates
 * [offsetᵦ, offsetᵦ + dimensionᵦ) only, so per-block statistics (a per-layer Fisher) can be taken
 * on the projection. `pieceBlocks[t]` is tensor t's block; blocks are numbered 0.. in order.
 *
 * @example
 * const s = createBlockedSketch([4096, 4096, 2048], [0, 0, 1], [1024, 1024], 7);
 * s.project([gradA0, gradB0, gradA1], out); // out has 2048 entries
 */
export function createBlockedSketch(pieceLengths: readonly number[], pieceBlocks: readonly number[], blockDimensions: readonly number[], seed: number): BlockedSketch {
  if (pieceLengths.length !== pieceBlocks.length) throw new SketchLengthError('every piece needs a block');
  let offset = 0;
  const blocks = blockDimensions.map((dimension, b) => {
    const inputLength = pieceLengths.reduce((n, len, t) => n + (pieceBlocks[t] === b ? len : 0), 0);
    const block = { offset, dimension, inputLength, sketch: createGradientSketch(inputLength, dimension, (seed + b * 0x9e3779b1) >>> 0) };
    offset += dimension;
    return block;
  });
  for (const b of pieceBlocks) if (!(b >= 0 && b < blocks.length)) throw new SketchLengthError(`piece block ${b} is not one of the ${blocks.length} blocks`);
  const dimension = offset;
  return {
    dimension,
    seed,
    blocks: blocks.map(({ offset, dimension, inputLength }) => ({ offset, dimension, inputLength })),
    project(pieces, out) {
      if (pieces.length !== pieceLengths.length) throw new SketchLengthError(`gradient has ${pieces.length} tensors, the sketch expects ${pieceLengths.length}`);
      if (out.length !== dimension) throw new SketchLengthError(`output has ${out.length} entries, the sketch has dimension ${dimension}`);
      blocks.forEach((b, k) => {
        const mine = pieces.filter((_, t) => pieceBlocks[t] === k);
        if (mine.length > 0) b.sketch.project(mine, out.subarray(b.offset, b.offset + b.dimension));
      });
    },
  };
}
