import type { Backend } from '../../backend.ts';
import { checkWindow } from '../../attention-window.ts';
import { groupsFor, linearIndex, type Kernels } from '../kernels.ts';

// Layouts (as the CPU backend): q, out, dq, dOut [B·S, nH·hd]; k, v, dk, dv [B·S, nKV·hd];
// lse and the backward's delta [B, nH, S], row (b, h, s) at (b·nH + h)·S + s. Query head h reads
// kv head h / (nH / nKV). Row s sees keys first(s) … s, first(s) = max(0, s − window + 1), or 0
// when window = 0 (attention-window.ts). Every kernel takes the same Params.
const PARAMS = /* wgsl */ `
struct Params { B: u32, S: u32, nH: u32, nKV: u32, hd: u32, scale: f32, window: u32 }
@group(0) @binding(0) var<uniform> p: Params;

fn firstVisible(s: u32) -> u32 {
  if (p.window == 0u || s + 1u <= p.window) { return 0u; }
  return s + 1u - p.window;
}
fn lastSeeing(t: u32) -> u32 { // the last query row that sees key t
  if (p.window == 0u) { return p.S - 1u; }
  return min(p.S - 1u, t + p.window - 1u);
}
`;

/** Threads per workgroup = keys (or queries) per tile; each thread owns output dims d ≡ lid (mod 64), so hd ≤ 4 × 64. */
const TILE = 64;
const MAX_HD = 4 * TILE;

/** Decodes the workgroup's query row (b·nH + h)·S + s and its offsets, for the per-row kernels. */
const QUERY_ROW = /* wgsl */ `
@compute @workgroup_size(${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * 65535u + wid.x;
  if (row >= p.B * p.nH * p.S) { return; }
  let s = row % p.S;
  let h = (row / p.S) % p.nH;
  let b = row / (p.S * p.nH);
  let g = h / (p.nH / p.nKV);
  let kw = p.nKV * p.hd;
  let qRow = (b * p.S + s) * p.nH * p.hd + h * p.hd; // this query's [hd] slice of q / out / dOut
  let kCol = b * p.S * kw + g * p.hd;               // key t's slice starts at kCol + t·kw
  let first = firstVisible(s);
`;

/**
 * Forward, one workgroup per query row: the row's visible keys go in tiles of 64, thread j scoring
 * key base + j against q (kept in workgroup memory); then every thread walks the tile's scores in
 * the same order, keeping the running max, the running sum of exponentials and, for the output
 * dims it owns, the running weighted sum of V (online softmax, rescaled when the max grows).
 * Writes out and lse = max + ln(sum): no S×S buffer.
 */
const FORWARD_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
var<workgroup> qs: array<f32, ${MAX_HD}>;
var<workgroup> scores: array<f32, ${TILE}>;
${QUERY_ROW}
  for (var d = lid; d < p.hd; d += ${TILE}u) { qs[d] = q[qRow + d]; }
  workgroupBarrier();
  var runMax = -3.4e38;
  var runSum = 0.0;
  var acc: array<f32, 4>;
  for (var base = first; base <= s; base += ${TILE}u) {
    let t = base + lid;
    if (t <= s) {
      var sc = 0.0;
      for (var d = 0u; d < p.hd; d++) { sc = fma(qs[d], k[kCol + t * kw + d], sc); }
      scores[lid] = sc * p.scale;
    }
    workgroupBarrier();
    let count = min(${TILE}u, s + 1u - base);
    var tileMax = runMax;
    for (var j = 0u; j < count; j++) { tileMax = max(tileMax, scores[j]); }
    let rescale = exp(runMax - tileMax);
    runSum *= rescale;
    for (var c = 0u; c < 4u; c++) { acc[c] *= rescale; }
    for (var j = 0u; j < count; j++) {
      let e = exp(scores[j] - tileMax);
      runSum += e;
      let vo = kCol + (base + j) * kw;
      for (var c = 0u; c < 4u; c++) {
        let d = lid + c * ${TILE}u;
        if (d < p.hd) { acc[c] = fma(e, v[vo + d], acc[c]); }
      }
    }
    runMax = tileMax;
    workgroupBarrier(); // before the next tile overwrites scores
  }
  for (var c = 0u; c < 4u; c++) {
    let d = lid + c * ${TILE}u;
    if (d < p.hd) { out[qRow + d] = acc[c] / runSum; }
  }
  if (lid == 0u) { lse[row] = runMax + log(runSum); }
}
`;

/** delta[row] = Σ_d dOut·out over the row's [hd] slice: one invocation per (b, h, s). */
const DELTA_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> dOut: array<f32>;
@group(0) @binding(2) var<storage, read> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> delta: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = ${linearIndex(64)};
  if (row >= p.B * p.nH * p.S) { return; }
  let s = row % p.S;
  let h = (row / p.S) % p.nH;
  let b = row / (p.S * p.nH);
  let o = (b * p.S + s) * p.nH * p.hd + h * p.hd;
  var acc = 0.0;
  for (var d = 0u; d < p.hd; d++) { acc = fma(dOut[o + d], out[o + d], acc); }
  delta[row] = acc;
}
`;

/**
 * dq, one workgroup per query row: over the row's visible keys in tiles of 64, thread j recomputes
 * P = exp(scale·q·k − lse) and dS = P·(dOut·v − delta) for key base + j (q and dOut in workgroup
 * memory); then each thread adds Σ_j dS_j·k_j over the dims it owns; dq = scale · that.
 */
const DQ_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dOut: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
var<workgroup> qs: array<f32, ${MAX_HD}>;
var<workgroup> dos: array<f32, ${MAX_HD}>;
var<workgroup> dS: array<f32, ${TILE}>;
${QUERY_ROW}
  for (var d = lid; d < p.hd; d += ${TILE}u) {
    qs[d] = q[qRow + d];
    dos[d] = dOut[qRow + d];
  }
  workgroupBarrier();
  let rowLse = lse[row];
  let rowDelta = delta[row];
  var acc: array<f32, 4>;
  for (var base = first; base <= s; base += ${TILE}u) {
    let t = base + lid;
    if (t <= s) {
      var sc = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.hd; d++) {
        sc = fma(qs[d], k[kCol + t * kw + d], sc);
        dp = fma(dos[d], v[kCol + t * kw + d], dp);
      }
      let pr = exp(sc * p.scale - rowLse);
      dS[lid] = pr * (dp - rowDelta);
    }
    workgroupBarrier();
    let count = min(${TILE}u, s + 1u - base);
    for (var j = 0u; j < count; j++) {
      let ko = kCol + (base + j) * kw;
      for (var c = 0u; c < 4u; c++) {
        let d = lid + c * ${TILE}u;
        if (d < p.hd) { acc[c] = fma(dS[j], k[ko + d], acc[c]); }
      }
    }
    workgroupBarrier();
  }
  for (var c = 0u; c < 4u; c++) {
    let d = lid + c * ${TILE}u;
    if (d < p.hd) { dq[qRow + d] = acc[c] * p.scale; }
  }
}
`;

/**
 * dk and dv, one workgroup per key row (b, kv head g, t): for each query head of group g, over the
 * queries that see key t (t … lastSeeing(t)) in tiles of 64, thread j recomputes P and dS for
 * query base + j (k and v in workgroup memory); then each thread adds Σ_j P_j·dOut_j (dv) and
 * Σ_j dS_j·q_j (dk) over the dims it owns; dk = scale · the latter. One writer per element.
 */
const DKV_WGSL = /* wgsl */ `${PARAMS}
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dOut: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;
var<workgroup> ks: array<f32, ${MAX_HD}>;
var<workgroup> vs: array<f32, ${MAX_HD}>;
var<workgroup> pT: array<f32, ${TILE}>;
var<workgroup> dS: array<f32, ${TILE}>;

@compute @workgroup_size(${TILE})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let item = wid.y * 65535u + wid.x;
  if (item >= p.B * p.nKV * p.S) { return; }
  let t = item % p.S;
  let g = (item / p.S) % p.nKV;
  let b = item / (p.S * p.nKV);
  let kw = p.nKV * p.hd;
  let qw = p.nH * p.hd;
  let ko = (b * p.S + t) * kw + g * p.hd;
  for (var d = lid; d < p.hd; d += ${TILE}u) {
    ks[d] = k[ko + d];
    vs[d] = v[ko + d];
  }
  workgroupBarrier();
  let last = lastSeeing(t);
  let group = p.nH / p.nKV;
  var accK: array<f32, 4>;
  var accV: array<f32, 4>;
  for (var h = g * group; h < (g + 1u) * group; h++) {
    for (var base = t; base <= last; base += ${TILE}u) {
      let s = base + lid;
      if (s <= last) {
        let row = (b * p.nH + h) * p.S + s;
        let qo = (b * p.S + s) * qw + h * p.hd;
        var sc = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < p.hd; d++) {
          sc = fma(q[qo + d], ks[d], sc);
          dp = fma(dOut[qo + d], vs[d], dp);
        }
        let pr = exp(sc * p.scale - lse[row]);
        pT[lid] = pr;
        dS[lid] = pr * (dp - delta[row]);
      }
      workgroupBarrier();
      let count = min(${TILE}u, last + 1u - base);
      for (var j = 0u; j < count; j++) {
        let qo = (b * p.S + base + j) * qw + h * p.hd;
        for (var c = 0u; c < 4u; c++) {
          let d = lid + c * ${TILE}u;
          if (d < p.hd) {
            accV[c] = fma(pT[j], dOut[qo + d], accV[c]);
            accK[c] = fma(dS[j], q[qo + d], accK[c]);
          }
        }
      }
      workgroupBarrier();
    }
  }
  for (var c = 0u; c < 4u; c++) {
    let d = lid + c * ${TILE}u;
    if (d < p.hd) {
      dk[ko + d] = accK[c] * p.scale;
      dv[ko + d] = accV[c];
    }
  }
}
`;

/**
 * Flash attention on the device, the semantics of {@link Backend.attention} (causal, grouped-query,
 * optional sliding window, any score scale): the forward keeps only out and lse [B, nH, S]; the
 * backward recomputes the probabilities from q, k and lse, one 64-key (or 64-query) tile at a time
 * in workgroup memory, with a delta [B, nH, S] scratch — never an S×S buffer — and no atomics (dq
 * by query row, dk and dv by key row, each element written by one invocation). Needs hd ≤ 256.
 *
 * @example
 * const ops = attentionOps(kernels);
 * ops.attention(out, lse, q, k, v, B, S, nH, nKV, hd, 1 / Math.sqrt(hd), 0);
 */
export function attentionOps(k: Kernels): Pick<Backend, 'attention' | 'attentionBackward'> {
  const params = (B: number, S: number, nH: number, nKV: number, hd: number, scale: number, window: number) => {
    if (hd > MAX_HD) throw new RangeError(`attention on WebGPU supports head widths up to ${MAX_HD}, not ${hd}`);
    checkWindow(window);
    return [{ u32: B }, { u32: S }, { u32: nH }, { u32: nKV }, { u32: hd }, { f32: scale }, { u32: window }];
  };
  return {
    attention(out, lse, q, key, v, B, S, nH, nKV, hd, scale, window) {
      const ps = params(B, S, nH, nKV, hd, scale, window);
      if (B * S === 0) return;
      k.dispatch(FORWARD_WGSL, ps, [q, key, v, out, lse], groupsFor(B * nH * S, 1));
    },
    attentionBackward(dq, dk, dv, dOut, out, q, key, v, lse, B, S, nH, nKV, hd, scale, window) {
      const ps = params(B, S, nH, nKV, hd, scale, window);
      if (B * S === 0) return;
      const delta = k.scratch(B * nH * S);
      k.dispatch(DELTA_WGSL, ps, [dOut, out, delta], groupsFor(B * nH * S));
      k.dispatch(DQ_WGSL, ps, [q, key, v, dOut, lse, delta, dq], groupsFor(B * nH * S, 1));
      k.dispatch(DKV_WGSL, ps, [q, key, v, dOut, lse, delta, dk, dv], groupsFor(B * nKV * S, 1));
    },
  };
}
