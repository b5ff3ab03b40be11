import type { Backend, Tensor } from '../../backend.ts';
import { checkWindow } from '../../attention-window.ts';
import type { AdapterPool } from '../adapter-pool.ts';
import { GpuTensor, groupsFor, linearIndex, scratchHolding, workgroupSum, type Kernels } from '../kernels.ts';

const REDUCE_THREADS = 64;

/**
 * Both batched LoRA kernels read a per-row table, one vec4<i32> per row: (aOffset, bOffset, r,
 * scale as f32 bits), offsets in elements of the pool buffer bound with it. r = 0 for a row without
 * adapter or whose factors live in another pool; an offset is −1 when only the other factor lives
 * in this pool (a factor shared by two adapters can end up apart from one partner).
 *
 * Batched LoRA shrink over one pool: u[row·maxR + kk] = scale_row · A_row[kk, :] · x[row, :] for kk
 * < r_row. One workgroup per (row, kk < maxR): each thread sums j ≡ lid (mod 64), then a
 * fixed-order tree in workgroup memory adds the 64 partial sums. Rows with nothing in this pool
 * leave their u entries alone.
 */
const LORA_SHRINK = /* wgsl */ `
struct Params { inDim: u32, maxR: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> u: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> pool: array<f32>;
@group(0) @binding(4) var<storage, read> table: array<vec4<i32>>; // aOffset, bOffset, r, scale bits
${workgroupSum('sumOfThreads', 'f32', REDUCE_THREADS)}

@compute @workgroup_size(${REDUCE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = wid.y * 65535u + wid.x;
  if (w >= p.count) { return; }
  let row = w / p.maxR;
  let kk = w % p.maxR;
  // one table entry for the whole workgroup: a uniform exit, the barriers below stay legal
  let e = table[row];
  if (e.x < 0 || kk >= u32(max(e.z, 0))) { return; }
  let xo = row * p.inDim;
  let ao = u32(e.x) + kk * p.inDim;
  var s = 0.0;
  for (var j = lid; j < p.inDim; j += ${REDUCE_THREADS}u) { s = fma(pool[ao + j], x[xo + j], s); }
  let total = sumOfThreads(lid, s);
  if (lid == 0u) { u[w] = bitcast<f32>(e.w) * total; }
}
`;

/**
 * Batched LoRA expand over one pool: y[row, o] += Σ_{kk < r_row} B_row[o, kk] · u[row·maxR + kk],
 * kk in order, one thread per (row, o); rows with nothing in this pool are not written.
 */
const LORA_EXPAND = /* wgsl */ `
struct Params { outDim: u32, maxR: u32, total: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> u: array<f32>;
@group(0) @binding(3) var<storage, read> pool: array<f32>;
@group(0) @binding(4) var<storage, read> table: array<vec4<i32>>; // aOffset, bOffset, r, scale bits

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let idx = ${linearIndex(64)};
  if (idx >= p.total) { return; }
  let row = idx / p.outDim;
  let o = idx % p.outDim;
  let e = table[row];
  if (e.y < 0 || e.z <= 0) { return; }
  let r = u32(e.z);
  let bo = u32(e.y) + o * r;
  let uo = row * p.maxR;
  var s = 0.0;
  for (var kk = 0u; kk < r; kk++) { s = fma(pool[bo + kk], u[uo + kk], s); }
  let yo = row * p.outDim + o;
  y[yo] = y[yo] + s;
}
`;

/**
 * Cache write: kCache[slots[i]·kvd + e] := k[i·kvd + e] (and v likewise), one thread per element.
 * A slot outside [0, cacheSlots) is skipped (the CPU backend throws; a GPU kernel cannot).
 */
const KV_WRITE = /* wgsl */ `
struct Params { rows: u32, kvd: u32, cacheSlots: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> kc: array<f32>;
@group(0) @binding(2) var<storage, read_write> vc: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> slots: array<i32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let idx = ${linearIndex(64)};
  if (idx >= p.rows * p.kvd) { return; }
  let slot = slots[idx / p.kvd];
  if (slot < 0 || u32(slot) >= p.cacheSlots) { return; }
  let o = u32(slot) * p.kvd + idx % p.kvd;
  kc[o] = k[idx];
  vc[o] = v[idx];
}
`;

/** Threads per (row, head) workgroup of paged attention = positions per tile; head width ≤ 4 × that. */
const PA_THREADS = 64;
const PA_MAX_HD = 4 * PA_THREADS;

/**
 * Paged decode attention: one workgroup per (row i, head h), kv head h / group. Positions go in
 * tiles of 64: thread t gathers position base + t through the block table and computes its scaled
 * score (q kept in workgroup memory); then every thread walks the tile's 64 scores in order,
 * keeping the running max, the running sum of exponentials and — for the output dims
 * d ≡ t (mod 64) it owns — the running weighted sum of V (online softmax, rescaled when the max
 * grows). All threads thus compute the same max and sum in the same order. With a sliding window w
 * the row (at position n − 1) starts at position n − w. Lengths are clamped to
 * the block table (maxBlocks·blockSize); positions whose slot lies outside the cache are skipped.
 */
const PAGED_ATTENTION = /* wgsl */ `
struct Params { rows: u32, nH: u32, group: u32, hd: u32, kvd: u32, blockSize: u32, maxBlocks: u32, cacheSlots: u32, scale: f32, window: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> kc: array<f32>;
@group(0) @binding(4) var<storage, read> vc: array<f32>;
@group(0) @binding(5) var<storage, read> tables: array<i32>;
@group(0) @binding(6) var<storage, read> lengths: array<i32>;

const NONE = 0xffffffffu;
var<workgroup> qs: array<f32, ${PA_MAX_HD}>;
var<workgroup> scores: array<f32, ${PA_THREADS}>;
var<workgroup> tileSlots: array<u32, ${PA_THREADS}>;
var<workgroup> seqLen: u32;

@compute @workgroup_size(${PA_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let item = wid.y * 65535u + wid.x;
  if (item >= p.rows * p.nH) { return; }
  let i = item / p.nH;
  let h = item % p.nH;
  let qo = item * p.hd; // (i·nH + h)·hd
  let ko = (h / p.group) * p.hd;
  for (var d = lid; d < p.hd; d += ${PA_THREADS}u) { qs[d] = q[qo + d]; }
  if (lid == 0u) { seqLen = min(u32(max(lengths[i], 0)), p.maxBlocks * p.blockSize); }
  let n = workgroupUniformLoad(&seqLen); // also makes qs visible

  var runMax = -3.4e38;
  var runSum = 0.0;
  var acc: array<f32, 4>;
  var first = 0u; // the row is at position n − 1: with a window w it sees n − w … n − 1 (attention-window.ts)
  if (p.window > 0u && n > p.window) { first = n - p.window; }
  for (var base = first; base < n; base += ${PA_THREADS}u) {
    let pos = base + lid;
    var slot = NONE;
    var sc = 0.0;
    if (pos < n) {
      let block = tables[i * p.maxBlocks + pos / p.blockSize];
      if (block >= 0) {
        let s = u32(block) * p.blockSize + pos % p.blockSize;
        if (s < p.cacheSlots) { slot = s; }
      }
    }
    if (slot != NONE) {
      let so = slot * p.kvd + ko;
      for (var d = 0u; d < p.hd; d++) { sc = fma(qs[d], kc[so + d], sc); }
      sc *= p.scale;
    }
    scores[lid] = sc;
    tileSlots[lid] = slot;
    workgroupBarrier();
    var tileMax = runMax;
    for (var t = 0u; t < ${PA_THREADS}u; t++) {
      if (tileSlots[t] != NONE) { tileMax = max(tileMax, scores[t]); }
    }
    let rescale = exp(runMax - tileMax);
    runSum *= rescale;
    for (var c = 0u; c < 4u; c++) { acc[c] *= rescale; }
    for (var t = 0u; t < ${PA_THREADS}u; t++) {
      let st = tileSlots[t];
      if (st != NONE) {
        let e = exp(scores[t] - tileMax);
        runSum += e;
        let vo = st * p.kvd + ko;
        for (var c = 0u; c < 4u; c++) {
          let d = lid + c * ${PA_THREADS}u;
          if (d < p.hd) { acc[c] = fma(e, vc[vo + d], acc[c]); }
        }
      }
    }
    runMax = tileMax;
    workgroupBarrier(); // before the next tile overwrites scores and tileSlots
  }
  var inv = 0.0;
  if (runSum > 0.0) { inv = 1.0 / runSum; }
  for (var c = 0u; c < 4u; c++) {
    let d = lid + c * ${PA_THREADS}u;
    if (d < p.hd) { out[qo + d] = acc[c] * inv; }
  }
}
`;

/** Rows of one loraRows call whose factors live in one pool, and the table the kernels read for it. */
interface PoolRows {
  whole: Tensor;
  table: Int32Array;
  shrinks: boolean;
  expands: boolean;
}

/**
 * The serving kernels (semantics of {@link Backend.loraRows}, `kvWrite`, `pagedAttention`):
 * batched heterogeneous LoRA (BGMV) in one shrink and one expand dispatch over all rows (each
 * adapter's factors move into the {@link AdapterPool} on first use, so one binding reaches them
 * all), KV-cache writes into slots, and paged decode attention with an online softmax per
 * (row, head). Where the CPU backend throws on an invalid slot or a too-long sequence, these
 * kernels skip the slot / clamp the length instead (they cannot report), and `pagedAttention`
 * needs hd ≤ 256.
 *
 * @example
 * const ops = servingOps(kernels, new AdapterPool(kernels));
 * ops.loraRows(y, x, [{ a, b, r: 8, scale: 2 }, null], inDim, outDim);
 */
export function servingOps(k: Kernels, pool: AdapterPool): Pick<Backend, 'loraRows' | 'kvWrite' | 'pagedAttention'> {
  return {
    loraRows(y, x, adapters, inDim, outDim) {
      const rows = adapters.length;
      let maxR = 0;
      for (const ad of adapters) if (ad && ad.r > maxR) maxR = ad.r;
      if (maxR === 0) return;
      // each adapter's factors into one pool where they fit together (a copy recorded in order)
      for (const ad of adapters) if (ad && ad.r > 0) pool.adoptTogether([ad.a, ad.b]);
      // normally one pool, so one table, one shrink and one expand for the whole batch
      const byPool = new Map<Tensor, PoolRows>();
      const rowsOf = (t: Tensor): PoolRows => {
        const whole = pool.poolOf(t)!.whole;
        let e = byPool.get(whole);
        if (!e) byPool.set(whole, (e = { whole, table: new Int32Array(rows * 4), shrinks: false, expands: false }));
        return e;
      };
      const scale = new Float32Array(1), scaleBits = new Int32Array(scale.buffer); // the kernels bitcast it back
      adapters.forEach((ad, i) => {
        if (!ad || ad.r <= 0) return;
        scale[0] = ad.scale;
        const pa = rowsOf(ad.a), pb = rowsOf(ad.b);
        for (const e of new Set([pa, pb])) {
          e.table.set([e === pa ? (ad.a as GpuTensor).offset / 4 : -1, e === pb ? (ad.b as GpuTensor).offset / 4 : -1, ad.r, scaleBits[0]!], i * 4);
          e.shrinks ||= e === pa;
          e.expands ||= e === pb;
        }
      });
      // one u for all pools: every shrink is recorded before any expand reads it
      const u = k.scratch(rows * maxR);
      const tables = new Map([...byPool].map(([whole, e]) => [whole, scratchHolding(k, e.table)]));
      for (const e of byPool.values()) {
        if (e.shrinks) k.dispatch(LORA_SHRINK, [{ u32: inDim }, { u32: maxR }, { u32: rows * maxR }], [u, x, e.whole, tables.get(e.whole)!], groupsFor(rows * maxR, 1));
      }
      for (const e of byPool.values()) {
        if (e.expands) k.dispatch(LORA_EXPAND, [{ u32: outDim }, { u32: maxR }, { u32: rows * outDim }], [y, u, e.whole, tables.get(e.whole)!], groupsFor(rows * outDim));
      }
    },
    kvWrite(kCache, vCache, kT, vT, slots, rows, kvd) {
      if (rows === 0 || kvd === 0) return;
      const cacheSlots = Math.floor(Math.min(kCache.length, vCache.length) / kvd);
      k.dispatch(KV_WRITE, [{ u32: rows }, { u32: kvd }, { u32: cacheSlots }], [kCache, vCache, kT, vT, slots], groupsFor(rows * kvd));
    },
    pagedAttention(out, q, kCache, vCache, blockTables, lengths, rows, nH, nKV, hd, blockSize, maxBlocks, scale, window) {
      if (hd > PA_MAX_HD) throw new RangeError(`pagedAttention on WebGPU supports head widths up to ${PA_MAX_HD}, not ${hd}`);
      checkWindow(window);
      if (rows === 0 || nH === 0) return;
      const kvd = nKV * hd;
      const cacheSlots = Math.floor(Math.min(kCache.length, vCache.length) / kvd);
      const params = [
        { u32: rows }, { u32: nH }, { u32: nH / nKV }, { u32: hd }, { u32: kvd }, { u32: blockSize }, { u32: maxBlocks }, { u32: cacheSlots }, { f32: scale }, { u32: window },
      ];
      k.dispatch(PAGED_ATTENTION, params, [out, q, kCache, vCache, blockTables, lengths], groupsFor(rows * nH, 1));
    },
  };
}
