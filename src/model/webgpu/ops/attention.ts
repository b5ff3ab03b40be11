import type { Backend } from '../../backend.ts';
import { groupsFor, linearIndex, type Kernels } from '../kernels.ts';

// Layouts (as the CPU backend): q, out, dq, dOut [B·S, nH·hd]; k, v, dk, dv [B·S, nKV·hd];
// probs [B, nH, S, S] with row (b, h, s) holding softmax over keys t ≤ s and zeros above the
// diagonal. Query head h reads kv head h / (nH / nKV). Every kernel takes the same Params.
const PARAMS = /* wgsl */ `
struct Params { B: u32, S: u32, nH: u32, nKV: u32, hd: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
`;

const ROW_THREADS = 64;

/** Fixed-order tree reduction of `red` (one value per thread) into red[0]; `op` is max or +. */
const reduce = (op: string) => /* wgsl */ `
  workgroupBarrier();
  for (var stride = ${ROW_THREADS / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] = ${op}; }
    workgroupBarrier();
  }`;

/** Decodes the workgroup's row (b·nH + h)·S + s of probs and the kv head, for the row kernels. */
const ROW_HEADER = /* wgsl */ `
var<workgroup> red: array<f32, ${ROW_THREADS}>;

@compute @workgroup_size(${ROW_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * 65535u + wid.x;
  if (row >= p.B * p.nH * p.S) { return; }
  let s = row % p.S;
  let h = (row / p.S) % p.nH;
  let b = row / (p.S * p.nH);
  let g = h / (p.nH / p.nKV);
  let kw = p.nKV * p.hd;
  let qRow = (b * p.S + s) * p.nH * p.hd + h * p.hd; // this query's [hd] slice of q / dOut
  let kCol = b * p.S * kw + g * p.hd;               // key t's slice starts at kCol + t·kw
  let pRow = row * p.S;
`;

/**
 * Scores and causal row softmax: one workgroup per (b, h, s). Each thread takes keys t ≡ lid
 * (mod 64), t ≤ s, stores the scaled dot product in probs, then the row max and the row sum of
 * exponentials are reduced over the workgroup; finally the row is normalised and zeroed above s.
 */
const SOFTMAX_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> probs: array<f32>;
${ROW_HEADER}
  var m = -3.4e38;
  for (var t = lid; t <= s; t += ${ROW_THREADS}u) {
    var sc = 0.0;
    for (var d = 0u; d < p.hd; d++) { sc += q[qRow + d] * k[kCol + t * kw + d]; }
    let x = sc * p.scale;
    probs[pRow + t] = x;
    m = max(m, x);
  }
  red[lid] = m;
  ${reduce('max(red[lid], red[lid + stride])')}
  let rowMax = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var t = lid; t <= s; t += ${ROW_THREADS}u) {
    let e = exp(probs[pRow + t] - rowMax);
    probs[pRow + t] = e;
    sum += e;
  }
  red[lid] = sum;
  ${reduce('red[lid] + red[lid + stride]')}
  let inv = 1.0 / red[0];
  for (var t = lid; t < p.S; t += ${ROW_THREADS}u) {
    if (t <= s) { probs[pRow + t] *= inv; } else { probs[pRow + t] = 0.0; }
  }
}
`;

/** Decodes invocation i of the [B·S, nH·hd] outputs (out, dq): i is also the element's index. */
const QUERY_ELEMENT = /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = ${linearIndex(64)};
  if (i >= p.B * p.S * p.nH * p.hd) { return; }
  let d = i % p.hd;
  let h = (i / p.hd) % p.nH;
  let s = (i / (p.hd * p.nH)) % p.S;
  let b = i / (p.hd * p.nH * p.S);
  let g = h / (p.nH / p.nKV);
  let kw = p.nKV * p.hd;
  let kCol = b * p.S * kw + g * p.hd + d;
  let pRow = ((b * p.nH + h) * p.S + s) * p.S;
`;

/** out = P·V: one invocation per output element, summing over keys t ≤ s. */
const PV_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${QUERY_ELEMENT}
  var acc = 0.0;
  for (var t = 0u; t <= s; t++) { acc += probs[pRow + t] * v[kCol + t * kw]; }
  out[i] = acc;
}
`;

/**
 * dScores = scale · P ⊙ (dP − rowsum(P ⊙ dP)) with dP = dOut·Vᵀ, into dS (same layout as probs,
 * only t ≤ s written): one workgroup per (b, h, s), the row sum reduced over the workgroup.
 */
const DSCORES_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> dS: array<f32>;
${ROW_HEADER}
  var pdp = 0.0;
  for (var t = lid; t <= s; t += ${ROW_THREADS}u) {
    var sc = 0.0;
    for (var d = 0u; d < p.hd; d++) { sc += dOut[qRow + d] * v[kCol + t * kw + d]; }
    dS[pRow + t] = sc;
    pdp += probs[pRow + t] * sc;
  }
  red[lid] = pdp;
  ${reduce('red[lid] + red[lid + stride]')}
  let rowSum = red[0];
  for (var t = lid; t <= s; t += ${ROW_THREADS}u) {
    dS[pRow + t] = probs[pRow + t] * (dS[pRow + t] - rowSum) * p.scale;
  }
}
`;

/** dq = dScores·K: one invocation per dq element, summing over keys t ≤ s. */
const DQ_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> dS: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> dq: array<f32>;
${QUERY_ELEMENT}
  var acc = 0.0;
  for (var t = 0u; t <= s; t++) { acc += dS[pRow + t] * k[kCol + t * kw]; }
  dq[i] = acc;
}
`;

/**
 * dk = Σ dScoresᵀ·Q and dv = Σ Pᵀ·dOut: one invocation per (b, key t, kv head g, d), summing over
 * the query heads of group g and the queries s ≥ t — each output written by one invocation.
 */
const DKV_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read> probs: array<f32>;
@group(0) @binding(4) var<storage, read> dS: array<f32>;
@group(0) @binding(5) var<storage, read_write> dk: array<f32>;
@group(0) @binding(6) var<storage, read_write> dv: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = ${linearIndex(64)};
  if (i >= p.B * p.S * p.nKV * p.hd) { return; }
  let d = i % p.hd;
  let g = (i / p.hd) % p.nKV;
  let t = (i / (p.hd * p.nKV)) % p.S;
  let b = i / (p.hd * p.nKV * p.S);
  let group = p.nH / p.nKV;
  let qw = p.nH * p.hd;
  var accK = 0.0;
  var accV = 0.0;
  for (var h = g * group; h < (g + 1u) * group; h++) {
    let qCol = b * p.S * qw + h * p.hd + d;
    let pCol = (b * p.nH + h) * p.S * p.S + t;
    for (var s = t; s < p.S; s++) {
      accK += dS[pCol + s * p.S] * q[qCol + s * qw];
      accV += probs[pCol + s * p.S] * dOut[qCol + s * qw];
    }
  }
  dk[i] = accK;
  dv[i] = accV;
}
`;

/**
 * Causal grouped-query self-attention on the device, as the CPU backend computes it: scores
 * scaled by 1/√hd, softmax over keys t ≤ s kept in probs[B, nH, S, S] (zeros above the diagonal),
 * and its backward, all without atomics (each output element is written by one invocation).
 *
 * @example
 * const ops = attentionOps(kernels);
 * ops.attention(out, probs, q, k, v, B, S, nH, nKV, hd);
 */
export function attentionOps(k: Kernels): Pick<Backend, 'attention' | 'attentionBackward'> {
  const params = (B: number, S: number, nH: number, nKV: number, hd: number) => [{ u32: B }, { u32: S }, { u32: nH }, { u32: nKV }, { u32: hd }, { f32: 1 / Math.sqrt(hd) }];
  return {
    attention(out, probs, q, key, v, B, S, nH, nKV, hd) {
      const ps = params(B, S, nH, nKV, hd);
      k.dispatch(SOFTMAX_WGSL, ps, [q, key, probs], groupsFor(B * nH * S, 1));
      k.dispatch(PV_WGSL, ps, [probs, v, out], groupsFor(B * S * nH * hd));
    },
    attentionBackward(dq, dk, dv, dOut, q, key, v, probs, B, S, nH, nKV, hd) {
      const ps = params(B, S, nH, nKV, hd);
      const dS = k.scratch(B * nH * S * S);
      k.dispatch(DSCORES_WGSL, ps, [dOut, v, probs, dS], groupsFor(B * nH * S, 1));
      k.dispatch(DQ_WGSL, ps, [dS, key, dq], groupsFor(B * S * nH * hd));
      k.dispatch(DKV_WGSL, ps, [q, dOut, probs, dS, dk, dv], groupsFor(B * S * nKV * hd));
    },
  };
}
