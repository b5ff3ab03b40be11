/**
 * Choosing the banding of a MinHash LSH index: b bands of r rows (b·r ≤ numPerm). Two sets whose
 * Jaccard similarity is s share at least one band, and so become candidates, with probability
 * P(s) = 1 − (1 − sʳ)ᵇ, an S-curve whose steep part sits near (1/b)^(1/r).
 */

/** The banding of an LSH index. */
export interface LshBands {
  bands: number;
  rows: number;
}

/**
 * The least probability, at the threshold itself, that a pair becomes a candidate: the LSH stage
 * may lose at most 1% of the pairs exactly at the threshold (fewer above it). Candidates are then
 * verified against the whole signature, so a needless candidate costs one signature comparison
 * while a missed one loses a duplicate.
 */
export const DEFAULT_RECALL_AT_THRESHOLD = 0.99;

/**
 * The probability 1 − (1 − sʳ)ᵇ that two sets of Jaccard similarity `s` share a band.
 *
 * @example
 * candidateProbability(0.8, { bands: 21, rows: 6 }) // ≈ 0.998
 */
export function candidateProbability(s: number, { bands, rows }: LshBands): number {
  return 1 - (1 - s ** rows) ** bands;
}

/**
 * The banding for a similarity `threshold` and `numPerm` permutations: the most rows r (so the
 * steepest S-curve and the fewest candidates among dissimilar sets) such that with b = ⌊numPerm/r⌋
 * bands, pairs exactly at the threshold still become candidates with probability at least
 * `recallAtThreshold` (default 0.99). When no r reaches it, one row per band (b = numPerm).
 *
 * @example
 * lshBands(0.8, 128) // { bands: 21, rows: 6 }: P(candidate | s = 0.8) ≈ 0.998, P(candidate | s = 0.3) ≈ 0.015
 * lshBands(0.9, 128) // { bands: 12, rows: 10 }
 */
export function lshBands(threshold: number, numPerm: number, recallAtThreshold = DEFAULT_RECALL_AT_THRESHOLD): LshBands {
  checkArguments(threshold, numPerm);
  for (let rows = numPerm; rows >= 1; rows--) {
    const bands = Math.floor(numPerm / rows);
    if (candidateProbability(threshold, { bands, rows }) >= recallAtThreshold) return { bands, rows };
  }
  return { bands: numPerm, rows: 1 };
}

function checkArguments(threshold: number, numPerm: number) {
  if (!(threshold > 0 && threshold <= 1)) throw new RangeError(`threshold must be in (0, 1], got ${threshold}`);
  if (!Number.isInteger(numPerm) || numPerm < 1) throw new RangeError(`numPerm must be a positive integer, got ${numPerm}`);
}

/** ∫ f over [lo, hi] by Simpson's rule on `steps` (even) intervals. */
function integrate(f: (x: number) => number, lo: number, hi: number, steps = 256): number {
  if (hi <= lo) return 0;
  const h = (hi - lo) / steps;
  let sum = f(lo) + f(hi);
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * f(lo + i * h);
  return (sum * h) / 3;
}

/**
 * The banding that minimises the weighted false-positive area ∫₀ᵗ P(s) ds plus false-negative
 * area ∫ₜ¹ 1 − P(s) ds over every b, r with b·r ≤ numPerm (the textbook choice, as datasketch's
 * MinHashLSH makes it, with its default weights 0.5/0.5). Kept for comparison: at t = 0.8 it
 * picks 9 × 13, which makes only 40% of the pairs at the threshold candidates (see
 * docs/decisions/0005-near-duplicate-detection.md). Ties go to the fewer bands.
 *
 * @example
 * lshBandsMinimisingArea(0.8, 128) // { bands: 9, rows: 13 }
 */
export function lshBandsMinimisingArea(
  threshold: number,
  numPerm: number,
  weights: { falsePositive: number; falseNegative: number } = { falsePositive: 0.5, falseNegative: 0.5 },
): LshBands {
  checkArguments(threshold, numPerm);
  let best: LshBands = { bands: 1, rows: numPerm };
  let bestError = Infinity;
  for (let bands = 1; bands <= numPerm; bands++) {
    for (let rows = 1; rows * bands <= numPerm; rows++) {
      const p = (s: number) => candidateProbability(s, { bands, rows });
      const error = weights.falsePositive * integrate(p, 0, threshold) + weights.falseNegative * integrate((s) => 1 - p(s), threshold, 1);
      if (error < bestError - 1e-12) {
        bestError = error;
        best = { bands, rows };
      }
    }
  }
  return best;
}
