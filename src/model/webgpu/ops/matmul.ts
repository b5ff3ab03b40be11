import type { Backend, MatmulLayout } from '../../backend.ts';
import { groupsFor, type Kernels } from '../kernels.ts';

// C[m×n] (+)= alpha · op(A) · op(B) with A(i, q) and B(q, j) read per layout (as the CPU's
// naiveMatmul): nn A[i·k + q], B[q·n + j]; nt A[i·k + q], B[j·k + q]; tn A[q·m + i], B[q·n + j].
const PARAMS = /* wgsl */ `
struct Params { m: u32, k: u32, n: u32, accumulate: u32, alpha: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
`;

/** Tile of C per workgroup (TILE × TILE), K step through workgroup memory, outputs per thread side. */
const TILE = 64;
const KSTEP = 16;
const PER_THREAD = 4;
/** Row stride of the workgroup tiles: 65, not 64, so that k-major stores do not all hit one bank. */
const STRIDE = TILE + 1;

// Loads of one K step into workgroup memory, As[kk·STRIDE + i] and Bs[kk·STRIDE + j], by the 256
// threads (`lid`), 4 values each, consecutive threads on the operand's contiguous index
// (coalesced global reads); zeros outside the matrices, so edge tiles need no other care.
const LOAD_A_ROW_MAJOR = /* wgsl */ `
    for (var l = 0u; l < 4u; l++) {
      let kk = lid % 16u; let i = lid / 16u + 16u * l;
      let gi = row0 + i; let gk = k0 + kk;
      var v = 0.0;
      if (gi < p.m && gk < p.k) { v = a[gi * p.k + gk]; }
      As[kk * ${STRIDE}u + i] = v;
    }`;
const LOAD_A_TRANSPOSED = /* wgsl */ `
    for (var l = 0u; l < 4u; l++) {
      let i = lid % 64u; let kk = lid / 64u + 4u * l;
      let gi = row0 + i; let gk = k0 + kk;
      var v = 0.0;
      if (gi < p.m && gk < p.k) { v = a[gk * p.m + gi]; }
      As[kk * ${STRIDE}u + i] = v;
    }`;
const LOAD_B_ROW_MAJOR = /* wgsl */ `
    for (var l = 0u; l < 4u; l++) {
      let j = lid % 64u; let kk = lid / 64u + 4u * l;
      let gj = col0 + j; let gk = k0 + kk;
      var v = 0.0;
      if (gj < p.n && gk < p.k) { v = b[gk * p.n + gj]; }
      Bs[kk * ${STRIDE}u + j] = v;
    }`;
const LOAD_B_TRANSPOSED = /* wgsl */ `
    for (var l = 0u; l < 4u; l++) {
      let kk = lid % 16u; let j = lid / 16u + 16u * l;
      let gj = col0 + j; let gk = k0 + kk;
      var v = 0.0;
      if (gj < p.n && gk < p.k) { v = b[gj * p.k + gk]; }
      Bs[kk * ${STRIDE}u + j] = v;
    }`;

/**
 * The tiled product: a 16×16 workgroup computes a 64×64 tile of C, each thread the 4×4 outputs at
 * rows ty + 16r, columns tx + 16c (so neighbouring threads write neighbouring columns). K goes in
 * steps of 16 through workgroup memory; every output sums its k products in increasing k with fma.
 */
const tiled = (loadA: string, loadB: string) => /* wgsl */ `${PARAMS}
var<workgroup> As: array<f32, ${KSTEP * STRIDE}>;
var<workgroup> Bs: array<f32, ${KSTEP * STRIDE}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid3: vec3u) {
  let tx = lid3.x;
  let ty = lid3.y;
  let lid = ty * 16u + tx;
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  var acc: array<f32, ${PER_THREAD * PER_THREAD}>;
  for (var k0 = 0u; k0 < p.k; k0 += ${KSTEP}u) {
    ${loadA}
    ${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${KSTEP}u; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var r = 0u; r < 4u; r++) { av[r] = As[kk * ${STRIDE}u + ty + 16u * r]; }
      for (var q = 0u; q < 4u; q++) { bv[q] = Bs[kk * ${STRIDE}u + tx + 16u * q]; }
      for (var r = 0u; r < 4u; r++) {
        for (var q = 0u; q < 4u; q++) { acc[r * 4u + q] = fma(av[r], bv[q], acc[r * 4u + q]); }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + ty + 16u * r;
    for (var q = 0u; q < 4u; q++) {
      let j = col0 + tx + 16u * q;
      if (i < p.m && j < p.n) {
        let o = i * p.n + j;
        var v = p.alpha * acc[r * 4u + q];
        if (p.accumulate != 0u) { v += c[o]; }
        c[o] = v;
      }
    }
  }
}
`;

const TILED: Record<MatmulLayout, string> = {
  nn: tiled(LOAD_A_ROW_MAJOR, LOAD_B_ROW_MAJOR),
  nt: tiled(LOAD_A_ROW_MAJOR, LOAD_B_TRANSPOSED),
  tn: tiled(LOAD_A_TRANSPOSED, LOAD_B_ROW_MAJOR),
};

/** Rows of A up to which `nt` products take the matrix-vector kernel (decode batches). */
const MV_MAX_ROWS = 8;
/** Threads that share one column of C in the matrix-vector kernel, and columns per workgroup. */
const MV_LANES = 32;
const MV_COLUMNS = 8;

/**
 * Matrix-vector `nt` for m ≤ 8 (decode: a few token rows against a weight matrix stored [n, k]):
 * each group of 32 threads owns one column j of C and streams row j of B once (lane ℓ takes
 * q ≡ ℓ mod 32, coalesced), keeping one partial sum per row of A; the 32 partials are then added
 * by a fixed-order tree in workgroup memory. 8 columns per 256-thread workgroup.
 */
const MATVEC_NT = /* wgsl */ `${PARAMS}
var<workgroup> partial: array<f32, ${MV_MAX_ROWS * MV_LANES * MV_COLUMNS}>;

@compute @workgroup_size(${MV_LANES * MV_COLUMNS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % ${MV_LANES}u;
  let j = (wid.y * 65535u + wid.x) * ${MV_COLUMNS}u + lid / ${MV_LANES}u;
  var acc: array<f32, ${MV_MAX_ROWS}>;
  if (j < p.n) {
    for (var q = lane; q < p.k; q += ${MV_LANES}u) {
      let bv = b[j * p.k + q];
      for (var r = 0u; r < ${MV_MAX_ROWS}u; r++) {
        if (r < p.m) { acc[r] = fma(a[r * p.k + q], bv, acc[r]); }
      }
    }
  }
  const W = ${MV_LANES * MV_COLUMNS}u;
  for (var r = 0u; r < ${MV_MAX_ROWS}u; r++) { partial[r * W + lid] = acc[r]; }
  workgroupBarrier();
  for (var s = ${MV_LANES / 2}u; s > 0u; s >>= 1u) {
    if (lane < s) {
      for (var r = 0u; r < ${MV_MAX_ROWS}u; r++) { partial[r * W + lid] += partial[r * W + lid + s]; }
    }
    workgroupBarrier();
  }
  // lane r writes row r of this column
  if (j < p.n && lane < p.m) {
    let o = lane * p.n + j;
    var v = p.alpha * partial[lane * W + lid - lane];
    if (p.accumulate != 0u) { v += c[o]; }
    c[o] = v;
  }
}
`;

/**
 * The WebGPU matrix product for the three layouts (semantics of {@link Backend.matmul}): a 64×64
 * register-tiled kernel per layout, and a matrix-vector kernel for `nt` with at most 8 rows (the
 * decoder's projections). Any m, k, n: edges are bounds-checked. `c` must not be `a` or `b`.
 */
export function matmulOps(k: Kernels): Pick<Backend, 'matmul'> {
  return {
    matmul(c, a, b, m, kDim, n, layout, accumulate = false, alpha = 1) {
      if (m === 0 || n === 0) return;
      const params = [{ u32: m }, { u32: kDim }, { u32: n }, { u32: accumulate ? 1 : 0 }, { f32: alpha }];
      if (layout === 'nt' && m <= MV_MAX_ROWS) {
        k.dispatch(MATVEC_NT, params, [c, a, b], groupsFor(n, MV_COLUMNS));
        return;
      }
      k.dispatch(TILED[layout], params, [c, a, b], [Math.ceil(n / TILE), Math.ceil(m / TILE)]);
    },
  };
}
