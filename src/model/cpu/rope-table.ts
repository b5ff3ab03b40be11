import type { Rotary } from '../rotary.ts';

const cache = new Map<string, { positions: number; cos: Float32Array; sin: Float32Array }>();

/**
 * cos/sin of the rotary angles `pos · invFreq[i]` for positions `0..positions−1`, row-major
 * [position, i] (i < invFreq.length); cached per rotary and grown on demand.
 *
 * @example
 * const { cos, sin } = ropeTable(128, rotaryOf(config, 0)!); // cos[p * half + i]
 */
export function ropeTable(positions: number, rotary: Rotary): { cos: Float32Array; sin: Float32Array } {
  const hit = cache.get(rotary.key);
  if (hit && hit.positions >= positions) return hit;
  const n = Math.max(positions, (hit?.positions ?? 0) * 2, 256);
  const half = rotary.invFreq.length;
  const cos = new Float32Array(n * half), sin = new Float32Array(n * half);
  for (let i = 0; i < half; i++) {
    const freq = rotary.invFreq[i]!;
    for (let p = 0; p < n; p++) {
      const angle = p * freq;
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  const entry = { positions: n, cos, sin };
  cache.set(rotary.key, entry);
  return entry;
}
