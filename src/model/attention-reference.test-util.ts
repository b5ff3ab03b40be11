/**
 * Naive causal (optionally sliding-window) grouped-query attention that materialises the S×S
 * probabilities in double precision: the reference the flash kernels of both backends are checked
 * against. Its backward uses the textbook softmax gradient, rowsum(P ∘ dP), not the flash kernels'
 * rowsum(dO ∘ O), so the two agree only if both are right.
 */
import type { AttentionShape } from './cpu/flash-attention.ts';
import { firstVisiblePosition } from './attention-window.ts';

/** Probabilities [B, nH, S, S] (zero outside each row's window), out [B·S, nH·hd] and lse [B, nH, S]. */
export function referenceAttention(q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): { probs: Float64Array; out: Float32Array; lse: Float32Array } {
  const { B, S, nH, nKV, hd, scale, window } = shape;
  const group = nH / nKV, qw = nH * hd, kw = nKV * hd;
  const probs = new Float64Array(B * nH * S * S), out = new Float32Array(B * S * qw), lse = new Float32Array(B * nH * S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const g = Math.floor(h / group);
      for (let s = 0; s < S; s++) {
        const row = ((b * nH + h) * S + s) * S, first = firstVisiblePosition(s, window);
        let max = -Infinity;
        for (let t = first; t <= s; t++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[(b * S + s) * qw + h * hd + d]! * k[(b * S + t) * kw + g * hd + d]!;
          probs[row + t] = dot * scale;
          max = Math.max(max, dot * scale);
        }
        let sum = 0;
        for (let t = first; t <= s; t++) sum += Math.exp(probs[row + t]! - max);
        for (let t = first; t <= s; t++) probs[row + t] = Math.exp(probs[row + t]! - max) / sum;
        lse[(b * nH + h) * S + s] = max + Math.log(sum);
        for (let d = 0; d < hd; d++) {
          let acc = 0;
          for (let t = first; t <= s; t++) acc += probs[row + t]! * v[(b * S + t) * kw + g * hd + d]!;
          out[(b * S + s) * qw + h * hd + d] = acc;
        }
      }
    }
  }
  return { probs, out, lse };
}

/** dq [B·S, nH·hd], dk and dv [B·S, nKV·hd] of the attention for the output gradient dOut. */
export function referenceAttentionBackward(dOut: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, shape: AttentionShape): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const { B, S, nH, nKV, hd, scale } = shape;
  const group = nH / nKV, qw = nH * hd, kw = nKV * hd;
  const { probs } = referenceAttention(q, k, v, shape);
  const dq = new Float64Array(B * S * qw), dk = new Float64Array(B * S * kw), dv = new Float64Array(B * S * kw);
  const dP = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nH; h++) {
      const g = Math.floor(h / group);
      for (let s = 0; s < S; s++) {
        const row = ((b * nH + h) * S + s) * S, qo = (b * S + s) * qw + h * hd;
        let pdp = 0;
        for (let t = 0; t <= s; t++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += dOut[qo + d]! * v[(b * S + t) * kw + g * hd + d]!;
          dP[t] = dot;
          pdp += probs[row + t]! * dot;
        }
        for (let t = 0; t <= s; t++) {
          const p = probs[row + t]!, dS = p * (dP[t]! - pdp) * scale, ko = (b * S + t) * kw + g * hd;
          for (let d = 0; d < hd; d++) {
            dv[ko + d]! += p * dOut[qo + d]!;
            dq[qo + d]! += dS * k[ko + d]!;
            dk[ko + d]! += dS * q[qo + d]!;
          }
        }
      }
    }
  }
  return { dq: Float32Array.from(dq), dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
}
