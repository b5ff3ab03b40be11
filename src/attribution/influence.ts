/**
 * Influence of training examples on an output, from projected LoRA gradients.
 *
 * Every training example i has a projected gradient gᵢ (a blocked CountSketch of its mean-loss
 * LoRA gradient at the final weights: one block of dimensions per transformer layer, so each
 * layer's gradient lands in its own range); an output has one, q, taken the same way. Methods:
 *
 * - `tracin-cosine`: cos(q, gᵢ), the first version's score (TracIn with unit-length gradients).
 * - `fisher`: qᵀ (Gᵦᵀ Gᵦ / n + λᵦ I)⁻¹ gᵢ summed over blocks b: the influence-function form with
 *   the empirical Fisher of the projected gradients as the Hessian, per layer (TRAK / LoGra). The
 *   inverse is applied to the training side once, at training time (ψᵢ), so an output costs one
 *   dot product per example. Directions every example shares (the prompt template's) carry most
 *   of the Fisher's mass and so are damped; rare directions (one fact's) are kept.
 * - `relatif`: the `fisher` score divided by the example's self-influence √(gᵢᵀ F⁻¹ gᵢ) (RelatIF,
 *   Barshan et al. 2020): an example the Fisher barely covers (huge ψᵢ) no longer outscores
 *   everything; the cosine of q and gᵢ in the Fisher's metric, up to q's norm.
 * - `datainf`: DataInf's closed form for LoRA, the same inverse approximated per layer by the
 *   mean of rank-one Sherman–Morrison inverses, computed at query time from the raw gradients.
 *
 * λᵦ = damping × the mean eigenvalue of block b's Fisher (trace / dimension), as DataInf sets it.
 * Positive scores mean the example pushed the output's loss down.
 */

/** A block of the projected gradient: one layer's adapter tensors, `dimension` coordinates from `offset`. */
export interface InfluenceBlock {
  offset: number;
  dimension: number;
}

/** Bad shapes or parameters given to an influence computation. */
export class InfluenceError extends Error {
  override name = 'InfluenceError';
}

export const influenceMethods = ['tracin-cosine', 'fisher', 'relatif', 'datainf'] as const;
export type InfluenceMethod = (typeof influenceMethods)[number];

function checkRows(rows: Float32Array, n: number, D: number): void {
  if (rows.length !== n * D) throw new InfluenceError(`expected ${n} rows of ${D}, got ${rows.length} numbers`);
}

/** Splits `dimension` coordinates into `count` consecutive blocks as evenly as possible. */
export function evenBlocks(dimension: number, count: number): InfluenceBlock[] {
  if (!Number.isInteger(count) || count < 1 || count > dimension) throw new InfluenceError(`cannot split ${dimension} dimensions into ${count} blocks`);
  const out: InfluenceBlock[] = [];
  let offset = 0;
  for (let b = 0; b < count; b++) {
    const d = Math.floor(dimension / count) + (b < dimension % count ? 1 : 0);
    out.push({ offset, dimension: d });
    offset += d;
  }
  return out;
}

/** λ per block: damping × mean squared norm of the rows' block ÷ its dimension. */
export function blockDamping(rows: Float32Array, n: number, D: number, blocks: readonly InfluenceBlock[], damping: number): Float64Array {
  checkRows(rows, n, D);
  const out = new Float64Array(blocks.length);
  blocks.forEach((b, k) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const o = i * D + b.offset;
      for (let j = 0; j < b.dimension; j++) s += rows[o + j]! * rows[o + j]!;
    }
    // a block no example has a gradient in gets a unit damping (its rows are zero anyway)
    out[k] = s > 0 ? (damping * s) / (n * b.dimension) : 1;
  });
  return out;
}

/** In-place Cholesky factor (lower) of a symmetric positive-definite m×m matrix (row-major). */
export function cholesky(a: Float64Array, m: number): void {
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j]!;
    for (let k = 0; k < j; k++) d -= a[j * m + k]! * a[j * m + k]!;
    if (!(d > 0)) throw new InfluenceError(`matrix is not positive definite (pivot ${j}: ${d})`);
    const l = Math.sqrt(d);
    a[j * m + j] = l;
    for (let i = j + 1; i < m; i++) {
      let s = a[i * m + j]!;
      for (let k = 0; k < j; k++) s -= a[i * m + k]! * a[j * m + k]!;
      a[i * m + j] = s / l;
    }
    for (let k = j + 1; k < m; k++) a[j * m + k] = 0;
  }
}

/** Solves L Lᵀ x = b in place for a Cholesky factor L (m×m) and a right-hand side of length m. */
export function choleskySolve(l: Float64Array, m: number, x: Float64Array): void {
  for (let i = 0; i < m; i++) {
    let s = x[i]!;
    for (let k = 0; k < i; k++) s -= l[i * m + k]! * x[k]!;
    x[i] = s / l[i * m + i]!;
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let k = i + 1; k < m; k++) s -= l[k * m + i]! * x[k]!;
    x[i] = s / l[i * m + i]!;
  }
}

/**
 * The training side of `fisher` influence: ψᵢ = (Gᵦᵀ Gᵦ / n + λᵦ I)⁻¹ gᵢ per block, for every row.
 * Exact either way, it solves in whichever space is smaller: the block's d×d Fisher, or the n×n
 * Gram matrix (push-through identity: (GᵀG/n + λI)⁻¹Gᵀ = Gᵀ(GGᵀ/n + λI)⁻¹). Rows that are all zero
 * (held-out examples) stay zero and are left out of the Fisher.
 *
 * @example
 * const psi = fisherPrecondition(gradients, n, 4096, evenBlocks(4096, 4), 0.1);
 */
export function fisherPrecondition(rows: Float32Array, n: number, D: number, blocks: readonly InfluenceBlock[], damping: number): Float32Array {
  checkRows(rows, n, D);
  const live: number[] = [];
  for (let i = 0; i < n; i++) {
    let nz = false;
    for (let j = 0; j < D && !nz; j++) nz = rows[i * D + j] !== 0;
    if (nz) live.push(i);
  }
  const out = new Float32Array(n * D);
  const m = live.length;
  if (m === 0) return out;
  const lambdas = blockDamping(rows, n, D, blocks, damping).map((l) => (l * n) / m);
  blocks.forEach((b, k) => {
    const d = b.dimension, lambda = lambdas[k]!;
    const row = (i: number) => rows.subarray(live[i]! * D + b.offset, live[i]! * D + b.offset + d);
    if (d <= m) {
      // F = GᵀG/m + λI (d×d); ψᵢ = F⁻¹ gᵢ
      const f = new Float64Array(d * d);
      for (let i = 0; i < m; i++) {
        const g = row(i);
        for (let p = 0; p < d; p++) {
          const gp = g[p]!;
          if (gp === 0) continue;
          for (let q = 0; q <= p; q++) f[p * d + q] = f[p * d + q]! + gp * g[q]!;
        }
      }
      for (let p = 0; p < d; p++) {
        for (let q = 0; q < p; q++) f[q * d + p] = f[p * d + q] = f[p * d + q]! / m;
        f[p * d + p] = f[p * d + p]! / m + lambda;
      }
      cholesky(f, d);
      const x = new Float64Array(d);
      for (let i = 0; i < m; i++) {
        const g = row(i);
        for (let p = 0; p < d; p++) x[p] = g[p]!;
        choleskySolve(f, d, x);
        out.set(Float32Array.from(x), live[i]! * D + b.offset);
      }
    } else {
      // K = GGᵀ/m + λI (m×m); Ψ = K⁻¹ G
      const kmat = new Float64Array(m * m);
      for (let i = 0; i < m; i++) {
        const gi = row(i);
        for (let j = 0; j <= i; j++) {
          const gj = row(j);
          let s = 0;
          for (let p = 0; p < d; p++) s += gi[p]! * gj[p]!;
          kmat[i * m + j] = kmat[j * m + i] = s / m;
        }
        kmat[i * m + i] = kmat[i * m + i]! + lambda;
      }
      cholesky(kmat, m);
      const col = new Float64Array(m);
      const psi = new Float64Array(m * d);
      for (let p = 0; p < d; p++) {
        for (let i = 0; i < m; i++) col[i] = row(i)[p]!;
        choleskySolve(kmat, m, col);
        for (let i = 0; i < m; i++) psi[i * d + p] = col[i]!;
      }
      for (let i = 0; i < m; i++) out.set(Float32Array.from(psi.subarray(i * d, (i + 1) * d)), live[i]! * D + b.offset);
    }
  });
  return out;
}

/**
 * RelatIF's training side: each ψᵢ divided by √(gᵢ · ψᵢ) (its self-influence's square root); rows
 * with no self-influence stay zero.
 *
 * @example
 * const rows = selfNormalised(gradients, fisherPrecondition(gradients, n, D, blocks, 1), n, D);
 */
export function selfNormalised(gradients: Float32Array, psi: Float32Array, n: number, D: number): Float32Array {
  checkRows(gradients, n, D);
  checkRows(psi, n, D);
  const out = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    let self = 0;
    const o = i * D;
    for (let j = 0; j < D; j++) self += gradients[o + j]! * psi[o + j]!;
    if (!(self > 0)) continue;
    const scale = 1 / Math.sqrt(self);
    for (let j = 0; j < D; j++) out[o + j] = psi[o + j]! * scale;
  }
  return out;
}

/** qᵀ rowᵢ for every row, accumulated in float64 in coordinate order (bit-for-bit reproducible). */
export function dotScores(rows: Float32Array, n: number, D: number, q: Float32Array): Float64Array {
  checkRows(rows, n, D);
  if (q.length !== D) throw new InfluenceError(`query has ${q.length} coordinates, rows have ${D}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * D;
    for (let j = 0; j < D; j++) s += rows[o + j]! * q[j]!;
    out[i] = s;
  }
  return out;
}

/** cos(q, rowᵢ) for every row (0 for a zero row or query). */
export function cosineScores(rows: Float32Array, n: number, D: number, q: Float32Array): Float64Array {
  const dots = dotScores(rows, n, D, q);
  let qq = 0;
  for (let j = 0; j < D; j++) qq += q[j]! * q[j]!;
  for (let i = 0; i < n; i++) {
    let rr = 0;
    const o = i * D;
    for (let j = 0; j < D; j++) rr += rows[o + j]! * rows[o + j]!;
    dots[i] = rr > 0 && qq > 0 ? dots[i]! / Math.sqrt(rr * qq) : 0;
  }
  return dots;
}

/**
 * DataInf's influence for LoRA (Kwon et al. 2024, eq. 5), sign flipped so that positive means
 * helpful: Σᵦ (1/λᵦ) (qᵦ·gₖᵦ − rᵦ·gₖᵦ), rᵦ = (1/n) Σᵢ (qᵦ·gᵢᵦ)/(λᵦ + ‖gᵢᵦ‖²) gᵢᵦ.
 *
 * @example
 * const scores = dataInfScores(gradients, n, D, blocks, blockDamping(gradients, n, D, blocks, 0.1), q);
 */
export function dataInfScores(rows: Float32Array, n: number, D: number, blocks: readonly InfluenceBlock[], lambdas: Float64Array, q: Float32Array): Float64Array {
  checkRows(rows, n, D);
  const out = new Float64Array(n);
  blocks.forEach((b, k) => {
    const lambda = lambdas[k]!, d = b.dimension;
    const qg = new Float64Array(n), r = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const o = i * D + b.offset;
      let dot = 0, nn = 0;
      for (let p = 0; p < d; p++) {
        dot += q[b.offset + p]! * rows[o + p]!;
        nn += rows[o + p]! * rows[o + p]!;
      }
      qg[i] = dot;
      const c = dot / (lambda + nn) / n;
      for (let p = 0; p < d; p++) r[p] = r[p]! + c * rows[o + p]!;
    }
    for (let i = 0; i < n; i++) {
      const o = i * D + b.offset;
      let rg = 0;
      for (let p = 0; p < d; p++) rg += r[p]! * rows[o + p]!;
      out[i] = out[i]! + (qg[i]! - rg) / lambda;
    }
  });
  return out;
}
