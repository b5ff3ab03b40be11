import type { Hex } from 'viem';

/** Shares are parts per million of the contributors' part of a fee. */
export const PPM = 1_000_000;

export interface CombineParameters {
  /** Weight of span attribution against influence, in basis points (governance: spanWeightBps). */
  spanWeightBps: number;
  /** Contributions under this share get nothing (governance: attributionThresholdPpm). */
  thresholdPpm: number;
}

/** One contribution's part of an output. */
export interface ContributionShare {
  contributionId: Hex;
  /** Parts per million; the shares of one output sum to exactly 1,000,000 (or there are none). */
  sharePpm: number;
  /** Normalised span score (0..1) and influence score (0..1) it was combined from. */
  span: number;
  influence: number;
}

/** Entries in id order, so sums (and so rounding) never depend on insertion order. */
const byId = <T,>(m: ReadonlyMap<Hex, T>): Array<[Hex, T]> => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function normalise(scores: ReadonlyMap<Hex, number>): Map<Hex, number> {
  const entries = byId(scores).filter(([, v]) => v > 0);
  const total = entries.reduce((s, [, v]) => s + v, 0);
  return new Map(total > 0 ? entries.map(([k, v]) => [k, v / total] as [Hex, number]) : []);
}

/**
 * Integer parts per million proportional to `weights` (positive, keys in ascending order), summing
 * to exactly 1,000,000: floors, then the parts left over one each to the largest remainders (ties
 * to the smaller key).
 *
 * @example
 * toPpm([[1, 1], [2, 2]]); // Map { 1 => 333333, 2 => 666667 }
 */
export function toPpm<K extends string | number>(weights: ReadonlyArray<readonly [K, number]>): Map<K, number> {
  const total = weights.reduce((a, [, w]) => a + w, 0);
  const entries = weights.map(([id, w]) => {
    const exact = (w / total) * PPM;
    return { id, floor: Math.floor(exact), rest: exact - Math.floor(exact) };
  });
  let left = PPM - entries.reduce((s, e) => s + e.floor, 0);
  const order = entries.map((e, i) => i).sort((a, b) => entries[b]!.rest - entries[a]!.rest || a - b);
  for (const i of order) {
    if (left <= 0) break;
    entries[i]!.floor++;
    left--;
  }
  return new Map(entries.map((e) => [e.id, e.floor]));
}

/**
 * Combines the two signals into shares: each is normalised to sum to one over contributions, they
 * are mixed by `spanWeightBps` (a signal with no evidence at all leaves the whole weight to the
 * other), shares under the threshold are dropped, and the rest is renormalised to integer parts
 * per million. Sorted by share, then id: the same inputs always give the same shares.
 *
 * @example
 * combineScores(spanScores, influenceScores, { spanWeightBps: 5000, thresholdPpm: 10000 });
 */
export function combineScores(span: ReadonlyMap<Hex, number>, influence: ReadonlyMap<Hex, number>, p: CombineParameters): ContributionShare[] {
  const s = normalise(span), g = normalise(influence);
  let ws = p.spanWeightBps / 10_000, wg = 1 - ws;
  if (s.size === 0) [ws, wg] = [0, 1];
  if (g.size === 0) [ws, wg] = [1, 0];
  const mixed = new Map<Hex, number>();
  for (const id of [...new Set([...s.keys(), ...g.keys()])].sort()) mixed.set(id, ws * (s.get(id) ?? 0) + wg * (g.get(id) ?? 0));
  const kept = new Map([...mixed].filter(([, w]) => w > 0 && w * PPM >= p.thresholdPpm));
  if (kept.size === 0) return [];
  const ppm = toPpm(byId(kept));
  return [...kept.keys()]
    .map((id) => ({ contributionId: id, sharePpm: ppm.get(id)!, span: s.get(id) ?? 0, influence: g.get(id) ?? 0 }))
    .sort((a, b) => b.sharePpm - a.sharePpm || (a.contributionId < b.contributionId ? -1 : 1));
}
