import type { Backend, Tensor } from '../../backend.ts';
import { groupsFor, linearIndex, workgroupSum, type Kernels } from '../kernels.ts';

const RW = 256;
/** At most this many workgroups (so partial sums) per tensor; beyond, each thread strides further. */
const MAX_PARTIALS = 1024;

// Each 256-thread workgroup sums squares over a grid-strided slice of x in f32, then a
// shared-memory tree (fixed order) reduces them to one partial sum, written at outOffset + group.
const SUM_OF_SQUARES = /* wgsl */ `
struct Params { n: u32, groups: u32, outOffset: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${workgroupSum('sumOfThreads', 'f32', RW)}
@compute @workgroup_size(${RW})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = wid.x * ${RW}u + lid; i < p.n; i += p.groups * ${RW}u) { let v = x[i]; acc += v * v; }
  let total = sumOfThreads(lid, acc);
  if (lid == 0u) { partials[p.outOffset + wid.x] = total; }
}`;

// One element per invocation, the CPU backend's update: m, v moments with bias corrections c1 =
// 1 − β1^step, c2 = 1 − β2^step (computed on the host in f64), decoupled weight decay.
const ADAMW = /* wgsl */ `
struct Params { n: u32, lr: f32, beta1: f32, beta2: f32, oneMinusBeta1: f32, oneMinusBeta2: f32, eps: f32, weightDecay: f32, c1: f32, c2: f32, gradScale: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = ${linearIndex(64)};
  if (i >= p.n) { return; }
  let g = grad[i] * p.gradScale;
  let mi = p.beta1 * m[i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[i] + p.oneMinusBeta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let w = param[i];
  param[i] = w - p.lr * ((mi / p.c1) / (sqrt(vi / p.c2) + p.eps) + p.weightDecay * w);
}`;

/**
 * The optimiser's operations on the WebGPU backend: `sumOfSquares` reduces each tensor on the
 * device to at most 1,024 per-workgroup partial sums (all tensors into one scratch buffer), reads
 * those back once and adds them in f64; `adamw` is one element-wise kernel.
 */
export function trainingOps(k: Kernels, read: (t: Tensor) => Promise<Float32Array>): Pick<Backend, 'sumOfSquares' | 'adamw'> {
  return {
    async sumOfSquares(ts) {
      const work = ts.filter((t) => t.length > 0);
      for (const t of work) if (t.dtype !== 'f32') throw new TypeError('sumOfSquares of an i32 tensor');
      const groups = work.map((t) => Math.min(MAX_PARTIALS, Math.ceil(t.length / RW)));
      const total = groups.reduce((a, b) => a + b, 0);
      if (total === 0) return 0;
      const partials = k.scratch(total);
      let offset = 0;
      work.forEach((t, j) => {
        const g = groups[j]!;
        k.dispatch(SUM_OF_SQUARES, [{ u32: t.length }, { u32: g }, { u32: offset }], [partials, t], [g]);
        offset += g;
      });
      let sum = 0;
      for (const x of await read(partials)) sum += x;
      return sum;
    },
    adamw(param, grad, m, v, o) {
      const n = param.length;
      if (n === 0) return;
      k.dispatch(
        ADAMW,
        [
          { u32: n }, { f32: o.lr }, { f32: o.beta1 }, { f32: o.beta2 }, { f32: 1 - o.beta1 }, { f32: 1 - o.beta2 },
          { f32: o.eps }, { f32: o.weightDecay }, { f32: 1 - o.beta1 ** o.step }, { f32: 1 - o.beta2 ** o.step }, { f32: o.gradScale },
        ],
        [param, grad, m, v],
        groupsFor(n, 64),
      );
    },
  };
}
