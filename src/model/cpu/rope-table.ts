const cache = new Map<string, { positions: number; cos: Float32Array; sin: Float32Array }>();

/**
 * cos/sin of the rotary angles `pos · theta^(−2i/hd)` for positions `0..positions−1` and
 * `i < hd/2`, row-major [position, i]; cached and grown on demand.
 *
 * @example
 * const { cos, sin } = ropeTable(128, 64, 10000); // cos[p * 32 + i]
 */
export function ropeTable(positions: number, hd: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  const key = `${hd}/${theta}`;
  const hit = cache.get(key);
  if (hit && hit.positions >= positions) return hit;
  const n = Math.max(positions, (hit?.positions ?? 0) * 2, 256);
  const half = hd / 2;
  const cos = new Float32Array(n * half), sin = new Float32Array(n * half);
  for (let i = 0; i < half; i++) {
    const freq = 1 / theta ** ((2 * i) / hd);
    for (let p = 0; p < n; p++) {
      const angle = p * freq;
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  const entry = { positions: n, cos, sin };
  cache.set(key, entry);
  return entry;
}
