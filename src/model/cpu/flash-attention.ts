/**
 * Flash attention on the CPU (Dao et al. 2022; the backward as in FlashAttention-2): causal,
 * grouped-query, optionally sliding-window attention that never holds the S×S probabilities.
 * Per (sequence, head) the queries go in blocks of {@link QUERY_BLOCK} rows and the keys in tiles
 * of {@link KEY_TILE}; a tile's products (scores = Q_i·K_jᵀ, O_i += P·V_j and the four backward
 * products) go through the matrix kernels on contiguous panels gathered from the [T, heads·hd]
 * activations, the softmax in plain loops. Tiles wholly outside a row block's causal window are
 * skipped (half the work of the old full S×S products at full causal).
 *
 * Forward, per query block: an online softmax over its key tiles (running max m and sum l per
 * row, the output rescaled by e^(m_old − m_new) when the max grows), then O /= l and
 * lse = m + ln l. Backward: D = rowsum(dO ∘ O); per tile P = e^(scale·Q·Kᵀ − lse),
 * dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P ∘ (dP − D), dQ += scale·dS·K, dK += scale·dSᵀ·Q.
 * Scratch: panels of S×hd and tiles of QUERY_BLOCK×KEY_TILE, never S×S.
 */
import type { MatmulLayout } from '../backend.ts';
import { firstVisiblePosition } from '../attention-window.ts';
import { expNonPositive } from './fast-exp.ts';

/** Query rows per block (a multiple of the matmul kernel's 6-row tile). */
export const QUERY_BLOCK = 96;
/** Keys per tile. */
export const KEY_TILE = 128;

/** The matrix product (see `MatmulFn` in cpu-backend.ts). */
type Matmul = (c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, layout: MatmulLayout, accumulate: boolean, alpha: number) => void;

/** Scratch arrays by name, grown on demand and reused across calls. */
export type Panel = (name: string, length: number) => Float32Array;

/** One attention call's shape: B sequences of S rows, nH query heads over nKV kv heads of width hd. */
export interface AttentionShape {
  B: number;
  S: number;
  nH: number;
  nKV: number;
  hd: number;
  scale: number;
  /** 0: full causal; w: each row sees its last w positions (see attention-window.ts). */
  window: number;
}

/** Copies columns [col, col + hd) of the S rows of sequence b (row width w) into dst [S, hd]. */
function gather(dst: Float32Array, x: Float32Array, b: number, S: number, w: number, col: number, hd: number): void {
  for (let s = 0; s < S; s++) {
    const o = (b * S + s) * w + col;
    dst.set(x.subarray(o, o + hd), s * hd);
  }
}

/** The inverse of {@link gather}: writes src [S, hd] into columns [col, col + hd) of sequence b's rows. */
function scatter(x: Float32Array, src: Float32Array, b: number, S: number, w: number, col: number, hd: number): void {
  for (let s = 0; s < S; s++) x.set(src.subarray(s * hd, s * hd + hd), (b * S + s) * w + col);
}

/** The key tiles query rows [i0, i1) can see: from the tile holding the first row's first visible key to the last row's own. */
function keyTiles(i0: number, i1: number, window: number): [number, number] {
  return [Math.floor(firstVisiblePosition(i0, window) / KEY_TILE), Math.floor((i1 - 1) / KEY_TILE)];
}

// The two softmax loops are small functions of their own so that V8 inlines expNonPositive into
// them (inside the large kernels it did not, and every exponential became a call: 1.6× slower).

/** P[from…to] := e^(P − max); returns their sum. */
function expRow(P: Float32Array, from: number, to: number, max: number): number {
  let sum = 0;
  for (let x = from; x <= to; x++) {
    const e = expNonPositive(P[x]! - max);
    P[x] = e;
    sum += e;
  }
  return sum;
}

/** Over [from, to]: P := e^(scores − lse) (the probabilities), dP := P ∘ (dP − delta) (dS). */
function scoreGradRow(P: Float32Array, dP: Float32Array, from: number, to: number, lse: number, delta: number): void {
  for (let x = from; x <= to; x++) {
    const p = expNonPositive(P[x]! - lse);
    P[x] = p;
    dP[x] = p * (dP[x]! - delta);
  }
}

/**
 * Forward: out [B·S, nH·hd] and lse [B, nH, S] from q [B·S, nH·hd], k, v [B·S, nKV·hd].
 *
 * @example
 * flashAttention(matmul, panel, out, lse, q, k, v, { B: 1, S: 8, nH: 4, nKV: 2, hd: 16, scale: 0.25, window: 0 });
 */
export function flashAttention(matmul: Matmul, panel: Panel, out: Float32Array, lse: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): void {
  const { B, S, nH, nKV, hd, scale, window } = shape;
  const group = nH / nKV, qw = nH * hd, kw = nKV * hd;
  const Qh = panel('q', S * hd), Kg = panel('k', S * hd), Vg = panel('v', S * hd), Oh = panel('o', S * hd);
  const P = panel('p', QUERY_BLOCK * KEY_TILE);
  const m = new Float64Array(QUERY_BLOCK), l = new Float64Array(QUERY_BLOCK);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < nKV; g++) {
      gather(Kg, k, b, S, kw, g * hd, hd);
      gather(Vg, v, b, S, kw, g * hd, hd);
      for (let h = g * group; h < (g + 1) * group; h++) {
        gather(Qh, q, b, S, qw, h * hd, hd);
        const lseRow = (b * nH + h) * S;
        for (let i0 = 0; i0 < S; i0 += QUERY_BLOCK) {
          const i1 = Math.min(S, i0 + QUERY_BLOCK), br = i1 - i0;
          const Oi = Oh.subarray(i0 * hd, i1 * hd); // [br, hd]
          Oi.fill(0);
          m.fill(-Infinity);
          l.fill(0);
          const [jFirst, jLast] = keyTiles(i0, i1, window);
          for (let j = jFirst; j <= jLast; j++) {
            const j0 = j * KEY_TILE, j1 = Math.min(S, j0 + KEY_TILE), bc = j1 - j0;
            matmul(P, Qh.subarray(i0 * hd, i1 * hd), Kg.subarray(j0 * hd, j1 * hd), br, hd, bc, 'nt', false, scale); // P [br, bc] = scores
            for (let r = 0; r < br; r++) {
              const s = i0 + r, row = r * bc;
              const lo = Math.max(j0, firstVisiblePosition(s, window)), hi = Math.min(j1 - 1, s); // visible keys of this tile
              if (lo > hi) {
                P.fill(0, row, row + bc);
                continue;
              }
              let max = m[r]!;
              for (let t = lo; t <= hi; t++) if (P[row + t - j0]! > max) max = P[row + t - j0]!;
              const correction = expNonPositive(m[r]! - max); // 0 on the row's first tile (m = −∞)
              P.fill(0, row, row + lo - j0);
              const sum = expRow(P, row + lo - j0, row + hi - j0, max);
              P.fill(0, row + hi - j0 + 1, row + bc);
              if (correction !== 1) for (let d = r * hd; d < (r + 1) * hd; d++) Oi[d]! *= correction;
              l[r] = l[r]! * correction + sum;
              m[r] = max;
            }
            matmul(Oi, P, Vg.subarray(j0 * hd, j1 * hd), br, bc, hd, 'nn', true, 1); // O_i += P·V_j
          }
          for (let r = 0; r < br; r++) {
            const inv = 1 / l[r]!;
            for (let d = r * hd; d < (r + 1) * hd; d++) Oi[d]! *= inv;
            lse[lseRow + i0 + r] = m[r]! + Math.log(l[r]!);
          }
        }
        scatter(out, Oh, b, S, qw, h * hd, hd);
      }
    }
  }
}

/**
 * Backward: dq [B·S, nH·hd], dk, dv [B·S, nKV·hd] (overwritten) from dOut, the forward's out and
 * lse, and its inputs.
 *
 * @example
 * flashAttentionBackward(matmul, panel, dq, dk, dv, dOut, out, q, k, v, lse, shape);
 */
export function flashAttentionBackward(matmul: Matmul, panel: Panel, dq: Float32Array, dk: Float32Array, dv: Float32Array, dOut: Float32Array,
  out: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, lse: Float32Array, shape: AttentionShape): void {
  const { B, S, nH, nKV, hd, scale, window } = shape;
  const group = nH / nKV, qw = nH * hd, kw = nKV * hd;
  const Qh = panel('q', S * hd), Kg = panel('k', S * hd), Vg = panel('v', S * hd), Oh = panel('o', S * hd), dOh = panel('do', S * hd);
  const dQh = panel('dq', S * hd), dKg = panel('dk', S * hd), dVg = panel('dv', S * hd), D = panel('delta', S);
  const P = panel('p', QUERY_BLOCK * KEY_TILE), dP = panel('dp', QUERY_BLOCK * KEY_TILE);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < nKV; g++) {
      gather(Kg, k, b, S, kw, g * hd, hd);
      gather(Vg, v, b, S, kw, g * hd, hd);
      dKg.fill(0, 0, S * hd);
      dVg.fill(0, 0, S * hd);
      for (let h = g * group; h < (g + 1) * group; h++) {
        gather(Qh, q, b, S, qw, h * hd, hd);
        gather(Oh, out, b, S, qw, h * hd, hd);
        gather(dOh, dOut, b, S, qw, h * hd, hd);
        dQh.fill(0, 0, S * hd);
        for (let s = 0; s < S; s++) { // D [S] = rowsum(dO ∘ O)
          let dot = 0;
          for (let d = s * hd; d < (s + 1) * hd; d++) dot += dOh[d]! * Oh[d]!;
          D[s] = dot;
        }
        const lseRow = (b * nH + h) * S;
        for (let i0 = 0; i0 < S; i0 += QUERY_BLOCK) {
          const i1 = Math.min(S, i0 + QUERY_BLOCK), br = i1 - i0;
          const Qi = Qh.subarray(i0 * hd, i1 * hd), dOi = dOh.subarray(i0 * hd, i1 * hd), dQi = dQh.subarray(i0 * hd, i1 * hd);
          const [jFirst, jLast] = keyTiles(i0, i1, window);
          for (let j = jFirst; j <= jLast; j++) {
            const j0 = j * KEY_TILE, j1 = Math.min(S, j0 + KEY_TILE), bc = j1 - j0;
            const Kj = Kg.subarray(j0 * hd, j1 * hd), Vj = Vg.subarray(j0 * hd, j1 * hd);
            matmul(P, Qi, Kj, br, hd, bc, 'nt', false, scale); // scores [br, bc]
            matmul(dP, dOi, Vj, br, hd, bc, 'nt', false, 1); // dP [br, bc] = dO_i·V_jᵀ
            for (let r = 0; r < br; r++) {
              const s = i0 + r, row = r * bc;
              const lo = Math.max(j0, firstVisiblePosition(s, window)), hi = Math.min(j1 - 1, s);
              const rowLse = lse[lseRow + s]!, delta = D[s]!;
              const from = row + Math.min(bc, lo - j0), to = row + Math.max(-1, hi - j0); // the visible columns [from, to], possibly none
              P.fill(0, row, from);
              dP.fill(0, row, from);
              scoreGradRow(P, dP, from, to, rowLse, delta);
              P.fill(0, to + 1, row + bc);
              dP.fill(0, to + 1, row + bc);
            }
            matmul(dVg.subarray(j0 * hd, j1 * hd), P, dOi, bc, br, hd, 'tn', true, 1); // dV_j += Pᵀ·dO_i
            matmul(dQi, dP, Kj, br, bc, hd, 'nn', true, scale); // dQ_i += scale·dS·K_j
            matmul(dKg.subarray(j0 * hd, j1 * hd), dP, Qi, bc, br, hd, 'tn', true, scale); // dK_j += scale·dSᵀ·Q_i
          }
        }
        scatter(dq, dQh, b, S, qw, h * hd, hd);
      }
      scatter(dk, dKg, b, S, kw, g * hd, hd);
      scatter(dv, dVg, b, S, kw, g * hd, hd);
    }
  }
}
