import type { Backend, Tensor } from '../../backend.ts';
import { groupsFor, linearIndex, type Kernels, type Param } from '../kernels.ts';

// One invocation per element, 64-thread workgroups laid out by `groupsFor` (2-D past 65,535
// groups); `I` is the linear invocation index. The column kernels (embedBackward, biasBackward)
// give each invocation one column and loop over the rows in order, so repeated token ids never
// race and the sums run in the CPU backend's order.
const WG = 64;
const I = linearIndex(WG);
const MAIN = `@compute @workgroup_size(${WG})\nfn main(@builtin(global_invocation_id) gid: vec3u)`;

const fillSource = (type: 'f32' | 'i32') => /* wgsl */ `
struct Params { n: u32, value: ${type} }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> t: array<${type}>;
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  t[i] = p.value;
}`;
const FILL_F32 = fillSource('f32');
const FILL_I32 = fillSource('i32');

// bit copy (u32), so f32 and i32 tensors copy alike
const COPY = /* wgsl */ `
struct Params { n: u32, dstOffset: u32, srcOffset: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  dst[p.dstOffset + i] = src[p.srcOffset + i];
}`;

const AXPY = /* wgsl */ `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  y[i] = y[i] + p.alpha * x[i];
}`;

// axpy(y, y, …): the same buffer may not be bound twice when one binding is writable
const AXPY_SELF = /* wgsl */ `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  let v = y[i];
  y[i] = v + p.alpha * v;
}`;

const SCALE = /* wgsl */ `
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> t: array<f32>;
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  t[i] = t[i] * p.alpha;
}`;

const ADD_BIAS = /* wgsl */ `
struct Params { total: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
${MAIN} {
  let i = ${I};
  if (i >= p.total) { return; }
  out[i] = out[i] + bias[i % p.n];
}`;

// one invocation per column, rows summed in order
const BIAS_BACKWARD = /* wgsl */ `
struct Params { T: u32, n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dBias: array<f32>;
@group(0) @binding(2) var<storage, read> dOut: array<f32>;
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  var acc = dBias[i];
  for (var t = 0u; t < p.T; t++) { acc += dOut[t * p.n + i]; }
  dBias[i] = acc;
}`;

// exp's argument is capped so it never overflows to infinity
const SIGMOID = `fn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(min(-x, 80.0))); }`;

/**
 * The gated MLP's activation, out = act(gate)·up, and its backward, for an act(x) = x·sigmoid(z(x)):
 * SiLU (z = x) and tanh-GELU (z = 2√(2/π)(x + 0.044715x³), the same function as
 * 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))). act′ = s + x·s·(1 − s)·z′ with s = sigmoid(z).
 */
function gatedSources(z: string, dz: string): { forward: string; backward: string } {
  const fns = `${SIGMOID}
fn z(x: f32) -> f32 { return ${z}; }
fn dz(x: f32) -> f32 { return ${dz}; }`;
  return {
    forward: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;
${fns}
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  let x = gate[i];
  out[i] = x * sigmoid(z(x)) * up[i];
}`,
    backward: /* wgsl */ `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dGate: array<f32>;
@group(0) @binding(2) var<storage, read_write> dUp: array<f32>;
@group(0) @binding(3) var<storage, read> dOut: array<f32>;
@group(0) @binding(4) var<storage, read> gate: array<f32>;
@group(0) @binding(5) var<storage, read> up: array<f32>;
${fns}
${MAIN} {
  let i = ${I};
  if (i >= p.n) { return; }
  let x = gate[i];
  let s = sigmoid(z(x));
  let g = dOut[i];
  dUp[i] = g * x * s;
  dGate[i] = g * up[i] * (s + x * s * (1.0 - s) * dz(x));
}`,
  };
}

const GELU_K = 2 * Math.sqrt(2 / Math.PI);
const SWIGLU = gatedSources('x', '1.0');
const GEGLU = gatedSources(`${GELU_K} * (x + 0.044715 * x * x * x)`, `${GELU_K} * (1.0 + 3.0 * 0.044715 * x * x)`);

// ids outside the table give a row of zeros (the GPU cannot throw as the CPU backend does)
const EMBED = /* wgsl */ `
struct Params { total: u32, d: u32, rows: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
${MAIN} {
  let i = ${I};
  if (i >= p.total) { return; }
  let id = ids[i / p.d];
  if (id < 0 || u32(id) >= p.rows) { out[i] = 0.0; return; }
  out[i] = table[u32(id) * p.d + i % p.d];
}`;

// one invocation per column, token rows in order: repeated ids accumulate without races
const EMBED_BACKWARD = /* wgsl */ `
struct Params { T: u32, d: u32, rows: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dTable: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read> dOut: array<f32>;
${MAIN} {
  let i = ${I};
  if (i >= p.d) { return; }
  for (var t = 0u; t < p.T; t++) {
    let id = ids[t];
    if (id >= 0 && u32(id) < p.rows) {
      let o = u32(id) * p.d + i;
      dTable[o] = dTable[o] + dOut[t * p.d + i];
    }
  }
}`;

/**
 * The element-wise, bias and embedding operations of the WebGPU backend: one invocation per
 * element (per column for the reductions over rows, embedBackward and biasBackward, which sum the
 * rows in order and so never race on repeated token ids).
 */
export function elementwiseOps(k: Kernels): Pick<Backend, 'fill' | 'copy' | 'axpy' | 'scale' | 'addBias' | 'biasBackward' | 'swiglu' | 'swigluBackward' | 'geglu' | 'gegluBackward' | 'embed' | 'embedBackward'> {
  const run = (wgsl: string, params: readonly Param[], buffers: readonly Tensor[], n: number) => {
    if (n > 0) k.dispatch(wgsl, params, buffers, groupsFor(n, WG));
  };
  const copyRange = (dst: Tensor, src: Tensor, n: number, dstOffset: number, srcOffset: number) =>
    run(COPY, [{ u32: n }, { u32: dstOffset }, { u32: srcOffset }], [dst, src], n);

  return {
    fill(t, value) {
      if (t.dtype === 'i32') run(FILL_I32, [{ u32: t.length }, { i32: value }], [t], t.length);
      else run(FILL_F32, [{ u32: t.length }, { f32: value }], [t], t.length);
    },
    copy(dst, src, length = src.length, dstOffset = 0, srcOffset = 0) {
      if (dst.dtype !== src.dtype) throw new TypeError(`copy from an ${src.dtype} tensor into an ${dst.dtype} one`);
      // as the CPU backend's `dst.set(src.subarray(…), dstOffset)`: the source range is clipped to
      // the source, a destination overrun is an error
      const n = Math.max(0, Math.min(length, src.length - srcOffset));
      if (srcOffset < 0 || dstOffset < 0 || srcOffset > src.length || dstOffset + n > dst.length) {
        throw new RangeError(`copy of ${n} values from ${srcOffset} of ${src.length} to ${dstOffset} of ${dst.length} is out of bounds`);
      }
      if (n === 0 || (dst === src && dstOffset === srcOffset)) return;
      if (dst !== src) return copyRange(dst, src, n, dstOffset, srcOffset);
      // overlapping ranges of one tensor: through a scratch buffer, as a memmove
      const tmp = k.scratch(n);
      copyRange(tmp, src, n, 0, srcOffset);
      copyRange(dst, tmp, n, dstOffset, 0);
    },
    axpy(y, x, alpha, n = x.length) {
      if (y === x) run(AXPY_SELF, [{ u32: n }, { f32: alpha }], [y], n);
      else run(AXPY, [{ u32: n }, { f32: alpha }], [y, x], n);
    },
    scale(t, alpha) {
      run(SCALE, [{ u32: t.length }, { f32: alpha }], [t], t.length);
    },
    addBias(out, bias, T, n) {
      run(ADD_BIAS, [{ u32: T * n }, { u32: n }], [out, bias], T * n);
    },
    biasBackward(dBias, dOut, T, n) {
      run(BIAS_BACKWARD, [{ u32: T }, { u32: n }], [dBias, dOut], T > 0 ? n : 0);
    },
    swiglu(out, gate, up, n) {
      run(SWIGLU.forward, [{ u32: n }], [out, gate, up], n);
    },
    swigluBackward(dGate, dUp, dOut, gate, up, n) {
      run(SWIGLU.backward, [{ u32: n }], [dGate, dUp, dOut, gate, up], n);
    },
    geglu(out, gate, up, n) {
      run(GEGLU.forward, [{ u32: n }], [out, gate, up], n);
    },
    gegluBackward(dGate, dUp, dOut, gate, up, n) {
      run(GEGLU.backward, [{ u32: n }], [dGate, dUp, dOut, gate, up], n);
    },
    embed(out, ids, table, T, d) {
      run(EMBED, [{ u32: T * d }, { u32: d }, { u32: Math.floor(table.length / d) }], [out, ids, table], T * d);
    },
    embedBackward(dTable, ids, dOut, T, d) {
      run(EMBED_BACKWARD, [{ u32: T }, { u32: d }, { u32: Math.floor(dTable.length / d) }], [dTable, ids, dOut], T > 0 ? d : 0);
    },
  };
}
