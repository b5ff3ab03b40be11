import type { MatmulLayout } from '../backend.ts';

/**
 * The textbook triple loop over a layout's indexing, accumulating in a double: the reference the
 * kernels are tested against and the baseline the benchmarks measure them against.
 *
 * @example
 * naiveMatmul(c, a, b, m, k, n, 'nt', false, 1);
 */
export function naiveMatmul(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, layout: MatmulLayout, accumulate = false, alpha = 1): void {
  const esA = layout === 'tn' ? 1 : k, psA = layout === 'tn' ? m : 1;
  const esB = layout === 'nt' ? k : 1, psB = layout === 'nt' ? 1 : n;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * esA + p * psA]! * b[j * esB + p * psB]!;
      c[i * n + j] = (accumulate ? c[i * n + j]! : 0) + alpha * s;
    }
  }
}
