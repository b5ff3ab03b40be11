/**
 * The statistics attribution is judged by: rank correlation (the linear datamodeling score and
 * leave-one-out checks are Spearman correlations), medians, and ranking hits.
 */

/** Fractional ranks (ties share the mean of their positions), 0-based. */
export function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2;
    i = j + 1;
  }
  return out;
}

/**
 * Spearman's rank correlation of two equally long series (Pearson's on their fractional ranks);
 * 0 when either is constant.
 *
 * @example
 * spearman([1, 2, 3], [10, 30, 20]); // 0.5
 */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`series of ${a.length} and ${b.length} values`);
  const ra = ranks(a), rb = ranks(b);
  const n = a.length, mean = (n - 1) / 2;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i]! - mean) * (rb[i]! - mean);
    da += (ra[i]! - mean) ** 2;
    db += (rb[i]! - mean) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** The median (NaN for none). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The mean (NaN for none). */
export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Keys by descending score (ties by key), dropping scores ≤ 0. */
export function ranked<K extends string | number>(scores: ReadonlyMap<K, number>): K[] {
  return [...scores].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k]) => k);
}
