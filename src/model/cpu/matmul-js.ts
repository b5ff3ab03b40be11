/**
 * The pure-JavaScript matmul kernel: B packed into 4-column panels, A into 4-row panels, and a
 * 4×4 register tile of C accumulated in local variables (doubles). About 10× slower than the
 * WebAssembly SIMD kernels (see docs/decisions/0008-cpu-kernels.md): it is the fallback where
 * WebAssembly SIMD or shared memory is missing, and the benchmark's middle reference.
 */
import type { MatmulLayout } from '../backend.ts';

/** Columns of B packed at a time (k × NC floats of scratch). */
const NC = 256;

/**
 * Rows `[rowStart, rowEnd)` of `C[m×n] (+)= alpha · op(A)·op(B)` over any Float32Arrays
 * (`nn` A[m×k]·B[k×n], `nt` A[m×k]·B[n×k]ᵀ, `tn` A[k×m]ᵀ·B[k×n]). Shapes are not checked.
 *
 * @example
 * const c = new Float32Array(4);
 * matmulRowsJs(c, new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, 0, 1]), 2, 2, 2, 'nn', false, 1, 0, 2);
 * // c = [1, 2, 3, 4]
 */
export function matmulRowsJs(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
  layout: MatmulLayout, accumulate: boolean, alpha: number, rowStart: number, rowEnd: number): void {
  if (rowEnd <= rowStart || n === 0) return;
  // Element (i, p) of op(A) is a[i·esA + p·psA]; element (p, j) of op(B) is b[j·esB + p·psB].
  const esA = layout === 'tn' ? 1 : k, psA = layout === 'tn' ? m : 1;
  const esB = layout === 'nt' ? k : 1, psB = layout === 'nt' ? 1 : n;
  const ap = new Float32Array(4 * k);
  const bp = new Float32Array(Math.min(NC, Math.ceil(n / 4) * 4) * k);
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    packPanels(bp, b, jc, nc, k, esB, psB);
    for (let i0 = rowStart; i0 < rowEnd; i0 += 4) {
      const rows = Math.min(4, rowEnd - i0);
      packPanels(ap, a, i0, rows, k, esA, psA);
      for (let j0 = 0; j0 < nc; j0 += 4) {
        tile(c, ap, bp, (j0 / 4) * 4 * k, k, n, i0, jc + j0, rows, Math.min(4, nc - j0), accumulate, alpha);
      }
    }
  }
}

/** Packs vectors [v0, v0+count) (element (v, p) at src[v·es + p·ps]) as zero-padded panels of 4: dst[panel·4k + p·4 + lane]. */
function packPanels(dst: Float32Array, src: Float32Array, v0: number, count: number, k: number, es: number, ps: number): void {
  for (let v = 0; v < count; v += 4) {
    const base = (v / 4) * 4 * k;
    for (let lane = 0; lane < 4; lane++) {
      if (v + lane >= count) {
        for (let p = 0; p < k; p++) dst[base + p * 4 + lane] = 0;
        continue;
      }
      let s = (v0 + v + lane) * es;
      for (let p = 0, d = base + lane; p < k; p++, d += 4, s += ps) dst[d] = src[s]!;
    }
  }
}

/** One 4×4 tile of C at (i0, j0) from the packed A panel and the B panel at `pb`; writes rows × cols of it. */
function tile(c: Float32Array, ap: Float32Array, bp: Float32Array, pb: number, k: number, n: number, i0: number, j0: number,
  rows: number, cols: number, accumulate: boolean, alpha: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let pa = 0, end = 4 * k; pa < end; pa += 4, pb += 4) {
    const b0 = bp[pb]!, b1 = bp[pb + 1]!, b2 = bp[pb + 2]!, b3 = bp[pb + 3]!;
    const a0 = ap[pa]!, a1 = ap[pa + 1]!, a2 = ap[pa + 2]!, a3 = ap[pa + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (rows === 4 && cols === 4) {
    let q = i0 * n + j0;
    if (accumulate) {
      c[q] = c[q]! + alpha * c00; c[q + 1] = c[q + 1]! + alpha * c01; c[q + 2] = c[q + 2]! + alpha * c02; c[q + 3] = c[q + 3]! + alpha * c03; q += n;
      c[q] = c[q]! + alpha * c10; c[q + 1] = c[q + 1]! + alpha * c11; c[q + 2] = c[q + 2]! + alpha * c12; c[q + 3] = c[q + 3]! + alpha * c13; q += n;
      c[q] = c[q]! + alpha * c20; c[q + 1] = c[q + 1]! + alpha * c21; c[q + 2] = c[q + 2]! + alpha * c22; c[q + 3] = c[q + 3]! + alpha * c23; q += n;
      c[q] = c[q]! + alpha * c30; c[q + 1] = c[q + 1]! + alpha * c31; c[q + 2] = c[q + 2]! + alpha * c32; c[q + 3] = c[q + 3]! + alpha * c33;
    } else {
      c[q] = alpha * c00; c[q + 1] = alpha * c01; c[q + 2] = alpha * c02; c[q + 3] = alpha * c03; q += n;
      c[q] = alpha * c10; c[q + 1] = alpha * c11; c[q + 2] = alpha * c12; c[q + 3] = alpha * c13; q += n;
      c[q] = alpha * c20; c[q + 1] = alpha * c21; c[q + 2] = alpha * c22; c[q + 3] = alpha * c23; q += n;
      c[q] = alpha * c30; c[q + 1] = alpha * c31; c[q + 2] = alpha * c32; c[q + 3] = alpha * c33;
    }
    return;
  }
  const t = [c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33];
  for (let r = 0; r < rows; r++) {
    for (let s = 0; s < cols; s++) {
      const q = (i0 + r) * n + j0 + s;
      c[q] = (accumulate ? c[q]! : 0) + alpha * t[r * 4 + s]!;
    }
  }
}
