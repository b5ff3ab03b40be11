import type { Backend } from '../../backend.ts';
import { groupsFor, scratchHolding, workgroupSum, type Kernels } from '../kernels.ts';

const THREADS = 256;

/**
 * Token sampling on the device, one 256-thread workgroup per row; thread t owns the contiguous
 * slice [t·chunk, (t+1)·chunk) of the vocabulary, so thread order is index order (ties resolve to
 * the lowest index, as the CPU's stable sort does). Without sorting:
 * 1. argmax (first index of the maximum) — the answer when the temperature is ≤ 0;
 * 2. p(v) = exp((logit − max) / temperature) ∈ (0, 1], recomputed where needed; positive f32s
 *    order like their bit patterns, so thresholds are found by bisection over the bits;
 * 3. the nucleus is {v : p(v) > τ} and the first n tokens (by index) at exactly τ, for the largest
 *    τ whose mass Σ_{p ≥ τ} p reaches topP · Σ p and the least n that reaches it (= the CPU's
 *    shortest prefix of the descending order reaching topP);
 * 4. the draw r = uniform · (nucleus mass) falls on the probability level σ, the largest whose
 *    mass Σ_{p ≥ σ} reaches r; among the tokens at exactly σ (ties) the k-th by index is taken,
 *    k from the mass strictly above σ — the token where the CPU's walk down the sorted order
 *    reaches r.
 * Every sum is a fixed-order tree in workgroup memory, so the result is deterministic; only the
 * f32 (vs f64) rounding of the probabilities can move a draw that lies within ~1e-6 of a boundary.
 */
const SAMPLE = /* wgsl */ `
struct Params { rows: u32, V: u32, chunk: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> ids: array<i32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> rowParams: array<f32>; // temperature, topP, uniform per row

const N = ${THREADS}u;
const ONE = 0x3f800000u; // bits of 1.0, the largest probability
var<workgroup> redF: array<f32, N>;
var<workgroup> redU: array<u32, N>;
var<workgroup> bcastU: u32;
${workgroupSum('sumF', 'f32', THREADS)}
${workgroupSum('sumU', 'u32', THREADS)}
var<workgroup> rowTemp: f32;
var<workgroup> rowTopP: f32;
var<workgroup> rowDraw: f32;

fn prob(x: f32, maxV: f32, temp: f32) -> f32 { return exp((x - maxV) / temp); }

/** Σ p(v) over v in the row with bits(p(v)) ≥ minBits, the same value in every thread. */
fn massFrom(o: u32, lo: u32, hi: u32, lid: u32, maxV: f32, temp: f32, minBits: u32) -> f32 {
  var s = 0.0;
  for (var v = lo; v < hi; v++) {
    let q = prob(logits[o + v], maxV, temp);
    if (bitcast<u32>(q) >= minBits) { s += q; }
  }
  return sumF(lid, s);
}

/** How many v in the row have bits(p(v)) = bits, the same value in every thread. */
fn countAt(o: u32, lo: u32, hi: u32, lid: u32, maxV: f32, temp: f32, bits: u32) -> u32 {
  var n = 0u;
  for (var v = lo; v < hi; v++) {
    if (bitcast<u32>(prob(logits[o + v], maxV, temp)) == bits) { n++; }
  }
  return sumU(lid, n);
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * 65535u + wid.x;
  if (row >= p.rows) { return; }
  let o = row * p.V;
  let lo = min(lid * p.chunk, p.V);
  let hi = min(lo + p.chunk, p.V);

  // 1. argmax, first index on ties (an empty slice offers -inf, which never wins)
  var best = -3.4e38;
  var bestI = 0u;
  if (lo < hi) { best = logits[o + lo]; bestI = lo; }
  for (var v = lo + 1u; v < hi; v++) {
    let x = logits[o + v];
    if (x > best) { best = x; bestI = v; }
  }
  redF[lid] = best;
  redU[lid] = bestI;
  workgroupBarrier();
  for (var stride = N / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride && redF[lid + stride] > redF[lid]) { redF[lid] = redF[lid + stride]; redU[lid] = redU[lid + stride]; }
    workgroupBarrier();
  }
  let maxV = redF[0];
  let argmax = redU[0];
  // the row's parameters, made uniform (they steer loops that hold barriers)
  if (lid == 0u) { rowTemp = rowParams[row * 3u]; rowTopP = rowParams[row * 3u + 1u]; rowDraw = rowParams[row * 3u + 2u]; }
  let temp = workgroupUniformLoad(&rowTemp);
  let topP = workgroupUniformLoad(&rowTopP);
  let draw = workgroupUniformLoad(&rowDraw);
  if (temp <= 0.0) {
    if (lid == 0u) { ids[row] = i32(argmax); }
    return;
  }

  // 3. nucleus threshold: largest tau with mass(p ≥ tau) ≥ topP · total
  let total = massFrom(o, lo, hi, lid, maxV, temp, 0u);
  let goal = topP * total;
  var tLo = 0u;
  var tHi = ONE + 1u;
  var kept = total;
  while (tHi - tLo > 1u) {
    let mid = tLo + (tHi - tLo) / 2u;
    let m = massFrom(o, lo, hi, lid, maxV, temp, mid);
    if (m >= goal) { tLo = mid; kept = m; } else { tHi = mid; }
  }

  // tokens tied at tau join the nucleus in index order only as far as needed to reach the goal
  let tau = bitcast<f32>(tLo);
  let aboveTau = massFrom(o, lo, hi, lid, maxV, temp, tLo + 1u);
  let tiedAtTau = countAt(o, lo, hi, lid, maxV, temp, tLo);
  let keptAtTau = clamp(u32(max(ceil((goal - aboveTau) / tau), 1.0)), 1u, max(tiedAtTau, 1u));
  kept = aboveTau + f32(keptAtTau) * tau;

  // 4. the level sigma the draw falls on, then the k-th token at exactly that level
  let r = draw * kept;
  var sLo = tLo;
  var sHi = ONE + 1u;
  while (sHi - sLo > 1u) {
    let mid = sLo + (sHi - sLo) / 2u;
    if (massFrom(o, lo, hi, lid, maxV, temp, mid) >= r) { sLo = mid; } else { sHi = mid; }
  }
  let above = massFrom(o, lo, hi, lid, maxV, temp, sLo + 1u);
  var count = 0u;
  for (var v = lo; v < hi; v++) {
    if (bitcast<u32>(prob(logits[o + v], maxV, temp)) == sLo) { count++; }
  }
  workgroupBarrier();
  redU[lid] = count;
  workgroupBarrier();
  if (lid == 0u) { // exclusive prefix of the per-thread counts, in index order
    var run = 0u;
    for (var t = 0u; t < N; t++) { let c = redU[t]; redU[t] = run; run += c; }
    bcastU = run;
  }
  let ties = workgroupUniformLoad(&bcastU);
  let level = bitcast<f32>(sLo);
  var allowed = max(ties, 1u);
  if (sLo == tLo) { allowed = min(allowed, keptAtTau); }
  let k = min(u32(max(ceil((r - above) / level) - 1.0, 0.0)), allowed - 1u);
  let first = redU[lid];
  if (k >= first && k < first + count) {
    var seen = first;
    for (var v = lo; v < hi; v++) {
      if (bitcast<u32>(prob(logits[o + v], maxV, temp)) == sLo) {
        if (seen == k) { ids[row] = i32(v); break; }
        seen++;
      }
    }
  }
}
`;

/**
 * {@link Backend.sample} on the device: serving reads back one id per row instead of rows × V
 * logits. Row parameters go up through the queue (written before the pending commands run).
 */
export function samplingOps(k: Kernels): Pick<Backend, 'sample'> {
  return {
    sample(ids, logits, rows, V, params) {
      if (rows === 0) return;
      if (params.length < rows) throw new RangeError(`sample needs parameters for ${rows} rows, got ${params.length}`);
      const values = new Float32Array(rows * 3);
      for (let i = 0; i < rows; i++) {
        const { temperature, topP, uniform } = params[i]!;
        values.set([temperature, Math.min(Math.max(topP, 0), 1), Math.min(Math.max(uniform, 0), 1)], i * 3);
      }
      const rowParams = scratchHolding(k, values);
      k.dispatch(SAMPLE, [{ u32: rows }, { u32: V }, { u32: Math.ceil(V / THREADS) }], [ids, logits, rowParams], groupsFor(rows, 1));
    },
  };
}
