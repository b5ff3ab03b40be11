import type { Backend, Tensor } from '../../backend.ts';
import type { Rotary } from '../../rotary.ts';
import { GpuTensor, groupsFor, linearIndex, workgroupSum, type Kernels } from '../kernels.ts';

// Row kernels (rmsnorm, its backward, cross-entropy) run one 256-thread workgroup per row: each
// thread walks the row with stride 256, then a shared-memory tree reduction (fixed order, so
// deterministic) combines the 256 partial results. Rows past 65,535 go to the grid's y dimension.
const RW = 256;
const ROW_MAIN = /* wgsl */ `@compute @workgroup_size(${RW})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32)`;
const ROW = 'wid.y * 65535u + wid.x';

/** WGSL: `reduceSum(lid, value)`, Σ value over the row's workgroup (every thread must call it). */
const SUM_REDUCE = workgroupSum('reduceSum', 'f32', RW);

const RMSNORM = /* wgsl */ `
struct Params { T: u32, d: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
${SUM_REDUCE}
${ROW_MAIN} {
  let row = ${ROW};
  if (row >= p.T) { return; }
  let o = row * p.d;
  var ss = 0.0;
  for (var i = lid; i < p.d; i += ${RW}u) { let v = x[o + i]; ss += v * v; }
  let r = 1.0 / sqrt(reduceSum(lid, ss) / f32(p.d) + p.eps);
  if (lid == 0u) { rstd[row] = r; }
  for (var i = lid; i < p.d; i += ${RW}u) { out[o + i] = x[o + i] * r * w[i]; }
}`;

// dx += r·(dOut·w − x̂·mean(dOut·w·x̂)), x̂ = x·r; one workgroup per row
const RMSNORM_BACKWARD_DX = /* wgsl */ `
struct Params { T: u32, d: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
${SUM_REDUCE}
${ROW_MAIN} {
  let row = ${ROW};
  if (row >= p.T) { return; }
  let o = row * p.d;
  let r = rstd[row];
  var dot = 0.0;
  for (var i = lid; i < p.d; i += ${RW}u) { dot += dOut[o + i] * w[i] * x[o + i]; }
  let mean = reduceSum(lid, dot) * r / f32(p.d);
  for (var i = lid; i < p.d; i += ${RW}u) {
    dx[o + i] = dx[o + i] + r * (dOut[o + i] * w[i] - x[o + i] * r * mean);
  }
}`;

// dw[i] += Σ_t dOut[t, i]·x̂[t, i]: one invocation per column, rows in order (no races)
const RMSNORM_BACKWARD_DW = /* wgsl */ `
struct Params { T: u32, d: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> rstd: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = ${linearIndex(64)};
  if (i >= p.d) { return; }
  var acc = dw[i];
  for (var t = 0u; t < p.T; t++) { acc += dOut[t * p.d + i] * (x[t * p.d + i] * rstd[t]); }
  dw[i] = acc;
}`;

/**
 * Cross-entropy source for the three bindings: loss only; loss and gradient into `dLogits`; loss
 * and gradient written over the logits (`dLogits === logits`, bound once). Each thread keeps an
 * online (max, Σexp) pair over its stride of the row; the pairs merge in a tree; a second pass
 * writes `gradScale·(softmax − onehot)`, each thread rereading only the logits it overwrites.
 */
function crossEntropySource(mode: 'loss' | 'grad' | 'inPlace'): string {
  const logitsAccess = mode === 'inPlace' ? 'read_write' : 'read';
  const grad = mode === 'inPlace' ? 'logits' : 'dLogits';
  const gradBinding = mode === 'grad' ? '@group(0) @binding(4) var<storage, read_write> dLogits: array<f32>;' : '';
  const writeGrad = mode === 'loss' ? '' : /* wgsl */ `
  let k = p.gradScale / sum;
  for (var i = lid; i < p.V; i += ${RW}u) {
    var g = exp(logits[o + i] - m) * k;
    if (i == tgt) { g -= p.gradScale; }
    ${grad}[o + i] = g;
  }`;
  const zeroGrad = mode === 'loss' ? '' : `for (var i = lid; i < p.V; i += ${RW}u) { ${grad}[o + i] = 0.0; }`;
  return /* wgsl */ `
struct Params { T: u32, V: u32, gradScale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> losses: array<f32>;
@group(0) @binding(2) var<storage, ${logitsAccess}> logits: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
${gradBinding}
var<workgroup> wm: array<f32, ${RW}>;
var<workgroup> ws: array<f32, ${RW}>;
${ROW_MAIN} {
  let row = ${ROW};
  if (row >= p.T) { return; }
  let o = row * p.V;
  let t = targets[row];
  // ignored rows (−1; and, as the GPU cannot throw, any target outside the vocabulary)
  if (t < 0 || u32(t) >= p.V) {
    if (lid == 0u) { losses[row] = 0.0; }
    ${zeroGrad}
    return;
  }
  let tgt = u32(t);
  let targetLogit = logits[o + tgt]; // read before any thread overwrites the row
  var m = -3.4028234663852886e38f; // −FLT_MAX: no infinities in the merge below
  var s = 0.0;
  for (var i = lid; i < p.V; i += ${RW}u) {
    let l = logits[o + i];
    if (l > m) { s = s * exp(m - l) + 1.0; m = l; } else { s += exp(l - m); }
  }
  wm[lid] = m;
  ws[lid] = s;
  workgroupBarrier();
  for (var h = ${RW / 2}u; h > 0u; h >>= 1u) {
    if (lid < h) {
      let m1 = wm[lid];
      let m2 = wm[lid + h];
      let mx = max(m1, m2);
      ws[lid] = ws[lid] * exp(m1 - mx) + ws[lid + h] * exp(m2 - mx);
      wm[lid] = mx;
    }
    workgroupBarrier();
  }
  m = wm[0];
  let sum = ws[0];
  if (lid == 0u) { losses[row] = log(sum) + m - targetLogit; }
  ${writeGrad}
}`;
}
const CE_LOSS = crossEntropySource('loss');
const CE_GRAD = crossEntropySource('grad');
const CE_IN_PLACE = crossEntropySource('inPlace');

// Rotary embeddings, one invocation per rotated pair (row, head, i < hd/2). The angle pos·freq_i
// is reduced exactly in fixed point: a table holds each frequency θ^(−2i/hd) as a fraction of a
// turn, f = freq/2π, in 64 bits (hi, lo words, computed in f64 on the host), so pos·f mod 1 is
// pos·hi + ⌊pos·lo / 2³²⌋ in wrapping u32 arithmetic, and sin/cos see an angle in [−π, π)
// accurate to ~1e-7 rad at any position (a plain f32 pos·freq is off by ~1e-3 rad at position 8k).
const ROPE_COMMON = /* wgsl */ `
fn mulHi(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p01 = a0 * b1; let p10 = a1 * b0;
  let mid = ((a0 * b0) >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}
fn rotate(pos: u32, i: u32, o: u32, half: u32, sign: f32) {
  let turn = pos * turns[2u * i] + mulHi(pos, turns[2u * i + 1u]);
  let a = f32(bitcast<i32>(turn)) * ${(2 * Math.PI) / 2 ** 32};
  let c = cos(a);
  let sn = sign * sin(a);
  let x1 = x[o];
  let x2 = x[o + half];
  x[o] = x1 * c - x2 * sn;
  x[o + half] = x2 * c + x1 * sn;
}`;

const ROPE = /* wgsl */ `
struct Params { total: u32, S: u32, nHeads: u32, half: u32, offset: u32, sign: f32, hd: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> turns: array<u32>;
${ROPE_COMMON}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = ${linearIndex(64)};
  if (j >= p.total) { return; }
  let i = j % p.half;
  let rowHead = j / p.half;
  let row = rowHead / p.nHeads;
  rotate(p.offset + row % p.S, i, rowHead * p.hd + i, p.half, p.sign);
}`;

const ROPE_ROWS = /* wgsl */ `
struct Params { total: u32, nHeads: u32, half: u32, hd: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> turns: array<u32>;
@group(0) @binding(3) var<storage, read> positions: array<i32>;
${ROPE_COMMON}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = ${linearIndex(64)};
  if (j >= p.total) { return; }
  let i = j % p.half;
  let rowHead = j / p.half;
  let row = rowHead / p.nHeads;
  rotate(u32(max(positions[row], 0)), i, rowHead * p.hd + i, p.half, 1.0);
}`;

/** Each rotary frequency invFreq[i]/2π as a 64-bit fixed-point fraction of a turn: [hi, lo] per i. */
function rotaryTurns(rotary: Rotary): Uint32Array {
  const half = rotary.invFreq.length;
  const words = new Uint32Array(half * 2);
  for (let i = 0; i < half; i++) {
    const f = rotary.invFreq[i]! / (2 * Math.PI);
    const hi = Math.floor(f * 2 ** 32);
    words[2 * i] = hi;
    words[2 * i + 1] = Math.min(2 ** 32 - 1, Math.floor((f * 2 ** 32 - hi) * 2 ** 32));
  }
  return words;
}

/**
 * RMSNorm (forward and backward), rotary embeddings (by sequence position and per serving row)
 * and softmax cross-entropy on the WebGPU backend. Row reductions use one workgroup per row; the
 * `dw` sum across rows runs in a second kernel, one invocation per column, rows in order.
 */
export function normOps(k: Kernels): Pick<Backend, 'rmsnorm' | 'rmsnormBackward' | 'rope' | 'ropeRows' | 'crossEntropy'> {
  const rowGroups = (T: number) => groupsFor(T, 1);
  // the rotary frequency tables, one small constant buffer per rotary, kept for the device's life
  const tables = new Map<string, Tensor>();
  const turnsTable = (rotary: Rotary): Tensor => {
    let t = tables.get(rotary.key);
    if (!t) {
      const words = rotaryTurns(rotary);
      const buffer = k.device.createBuffer({ size: Math.max(16, Math.ceil((words.byteLength) / 16) * 16), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
      // a fresh buffer no recorded work uses yet, so writing it ahead of the pending commands is safe
      k.device.queue.writeBuffer(buffer, 0, words.buffer, words.byteOffset, words.byteLength);
      t = new GpuTensor(words.length, 'i32', buffer);
      tables.set(rotary.key, t);
    }
    return t;
  };

  return {
    rmsnorm(out, rstd, x, w, T, d, eps) {
      if (T > 0) k.dispatch(RMSNORM, [{ u32: T }, { u32: d }, { f32: eps }], [out, rstd, x, w], rowGroups(T));
    },
    rmsnormBackward(dx, dw, dOut, x, w, rstd, T, d) {
      if (T <= 0) return;
      k.dispatch(RMSNORM_BACKWARD_DX, [{ u32: T }, { u32: d }], [dx, dOut, x, w, rstd], rowGroups(T));
      if (dw) k.dispatch(RMSNORM_BACKWARD_DW, [{ u32: T }, { u32: d }], [dw, dOut, x, rstd], groupsFor(d, 64));
    },
    rope(x, B, S, nHeads, hd, rotary, positionOffset, inverse) {
      const half = rotary.invFreq.length, total = B * S * nHeads * half;
      if (total <= 0) return;
      const params = [{ u32: total }, { u32: S }, { u32: nHeads }, { u32: half }, { u32: positionOffset }, { f32: inverse ? -1 : 1 }, { u32: hd }];
      k.dispatch(ROPE, params, [x, turnsTable(rotary)], groupsFor(total, 64));
    },
    ropeRows(x, positions, rows, nHeads, hd, rotary) {
      const half = rotary.invFreq.length, total = rows * nHeads * half;
      if (total <= 0) return;
      k.dispatch(ROPE_ROWS, [{ u32: total }, { u32: nHeads }, { u32: half }, { u32: hd }], [x, turnsTable(rotary), positions], groupsFor(total, 64));
    },
    crossEntropy(losses, dLogits, logits, targets, T, V, gradScale) {
      if (T <= 0) return;
      const params = [{ u32: T }, { u32: V }, { f32: gradScale }];
      if (!dLogits) k.dispatch(CE_LOSS, params, [losses, logits, targets], rowGroups(T));
      else if (dLogits === logits) k.dispatch(CE_IN_PLACE, params, [losses, logits, targets], rowGroups(T));
      else k.dispatch(CE_GRAD, params, [losses, logits, targets, dLogits], rowGroups(T));
    },
  };
}
