/**
 * Generates the WebAssembly SIMD matmul kernels (GEBP style, after Goto & van de Geijn): a
 * macro-kernel that sweeps an mc×nc block of C with an mr×nr register-tiled micro-kernel over
 * kc-long panels of A and B, and the packing routine that lays those panels out contiguously.
 * The module imports one shared memory (the heap of `matmul-heap.ts`), so every worker thread
 * instantiates the same bytes over the same memory.
 */
import {
  F32, FunctionBuilder, I32, V128, block, br, brIf, f32Add, f32Load, f32Mul, f32Store, f32c, f32x4Add, f32x4Mul,
  f32x4RelaxedMadd, f32x4Splat, get, i32Add, i32And, i32Eq, i32GeS, i32LtS, i32Mul, i32Shl, i32Sub, i32c, ifThen,
  loop, select, seq, set, v128Load, v128Load32Splat, v128Load64Zero, v128Store, v128Store64Lane, v128Zero, wasmModule,
} from './wasm-emit.ts';
import type { Code, WasmFunction } from './wasm-emit.ts';
import { int8Kernels } from './matmul-int8-kernels.ts';
import { superBlockInt8Kernels } from './matmul-int8-k-kernels.ts';
import { quantKernels } from './matmul-quant-kernels.ts';

/** Register tile: `mr` rows × `nr` columns of C (nr a multiple of 4). */
export interface TileShape {
  mr: number;
  nr: number;
}

/** Options of the generated code. */
export interface KernelOptions {
  /** Relaxed SIMD fused multiply-add (`f32x4.relaxed_madd`) instead of a multiply and an add. */
  fma: boolean;
  /** Relaxed SIMD's integer dot product (`i32x4.relaxed_dot_i8x16_i7x16_add_s`) in the Q4_0 decode kernel. */
  relaxedDot?: boolean;
}

const inc = (local: number, by: Code): Code => seq(get(local), by, i32Add, set(local));
const incC = (local: number, by: number): Code => inc(local, i32c(by));
const dec = (local: number): Code => seq(get(local), i32c(1), i32Sub, set(local));
/** `a < b ? a : b` of two locals. */
const min = (a: number, b: number): Code => seq(get(a), get(b), get(a), get(b), i32LtS, select);
/** Byte address `base + 4·index` of two locals. */
const at = (base: number, index: number): Code => seq(get(base), get(index), i32c(2), i32Shl, i32Add);

/**
 * `macro(ap, aPanel, esA, psA, bp, bPanel, psB, mc, nc, kc, c, ldc, alpha, beta, tmp)`:
 * `C[0..mc, 0..nc] = alpha · A·B + (beta ? C : 0)`. A's tile row r at step p is the f32 at
 * `ap + panel·aPanel + r·esA + p·psA`; B's tile column s at step p is at `bp + panel·bPanel + p·psB + 4s`.
 * C is at byte `c` with rows `ldc` bytes apart; `tmp` is mr·nr floats of scratch for partial tiles.
 * With `packedA` A's addressing is the packed layout (esA = 4, psA = 4·mr) baked in as constants.
 * mc, nc, kc ≥ 1; every whole tile's reads must be in bounds (callers pad partial panels).
 */
function macroKernel(shape: TileShape, packedA: boolean, options: KernelOptions): WasmFunction {
  const { mr, nr } = shape;
  const nv = nr / 4;
  const f = new FunctionBuilder();
  const ap = f.param('ap', I32), aPanel = f.param('aPanel', I32), esA = f.param('esA', I32), psA = f.param('psA', I32);
  const bp = f.param('bp', I32), bPanel = f.param('bPanel', I32), psB = f.param('psB', I32);
  const mc = f.param('mc', I32), nc = f.param('nc', I32), kc = f.param('kc', I32);
  const c = f.param('c', I32), ldc = f.param('ldc', I32), alpha = f.param('alpha', F32), beta = f.param('beta', I32);
  const tmp = f.param('tmp', I32);
  const alphaV = f.local('alphaV', V128);
  const acc: number[][] = [];
  for (let r = 0; r < mr; r++) {
    const row: number[] = [];
    for (let j = 0; j < nv; j++) row.push(f.local(`acc${r}_${j}`, V128));
    acc.push(row);
  }
  const bv: number[] = [];
  for (let j = 0; j < nv; j++) bv.push(f.local(`b${j}`, V128));
  const av = f.local('a', V128);
  const jr = f.local('jr', I32), ir = f.local('ir', I32), bpan = f.local('bpan', I32), apan = f.local('apan', I32);
  const cj = f.local('cj', I32), ct = f.local('ct', I32), pa = f.local('pa', I32), pb = f.local('pb', I32);
  const p = f.local('p', I32), crow = f.local('crow', I32), trow = f.local('trow', I32);
  const mValid = f.local('mValid', I32), nValid = f.local('nValid', I32), s = f.local('s', I32), r = f.local('r', I32);
  const mrC = f.local('mrC', I32), nrC = f.local('nrC', I32), ldcTile = f.local('ldcTile', I32);
  const esR: number[] = [0];
  for (let i = 1; i < mr; i++) esR.push(f.local(`es${i}`, I32));

  const init = seq(
    get(alpha), f32x4Splat, set(alphaV),
    i32c(mr), set(mrC), i32c(nr), set(nrC), get(ldc), i32c(mr), i32Mul, set(ldcTile),
    ...(packedA ? [] : esR.slice(1).map((l, i) => seq(get(esA), i32c(i + 1), i32Mul, set(l)))),
  );

  const aSplat = (row: number): Code =>
    packedA ? seq(get(pa), v128Load32Splat(4 * row))
      : row === 0 ? seq(get(pa), v128Load32Splat())
        : seq(get(pa), get(esR[row]!), i32Add, v128Load32Splat());
  const step: Code[] = [];
  for (let j = 0; j < nv; j++) step.push(seq(get(pb), v128Load(16 * j), set(bv[j]!)));
  for (let row = 0; row < mr; row++) {
    step.push(seq(aSplat(row), set(av)));
    for (let j = 0; j < nv; j++) {
      const madd = options.fma ? seq(get(av), get(bv[j]!), get(acc[row]![j]!), f32x4RelaxedMadd) : seq(get(av), get(bv[j]!), f32x4Mul, get(acc[row]![j]!), f32x4Add);
      step.push(seq(madd, set(acc[row]![j]!)));
    }
  }
  const micro = seq(
    ...acc.flat().map((l) => seq(v128Zero, set(l))),
    get(apan), set(pa), get(bpan), set(pb), get(kc), set(p),
    loop(
      ...step,
      packedA ? incC(pa, 4 * mr) : inc(pa, get(psA)),
      inc(pb, get(psB)),
      dec(p), get(p), brIf(0),
    ),
  );

  const fullStore = (withBeta: boolean): Code => {
    const parts: Code[] = [get(ct), set(crow)];
    for (let row = 0; row < mr; row++) {
      for (let j = 0; j < nv; j++) {
        parts.push(get(crow), get(acc[row]![j]!), get(alphaV), f32x4Mul);
        if (withBeta) parts.push(get(crow), v128Load(16 * j), f32x4Add);
        parts.push(v128Store(16 * j));
      }
      if (row < mr - 1) parts.push(inc(crow, get(ldc)));
    }
    return seq(...parts);
  };
  // Partial tile: spill the accumulators to tmp, then write the valid part of the tile one float at a time.
  const partialStore = seq(
    ...acc.flatMap((row, ri) => row.map((l, j) => seq(get(tmp), get(l), v128Store(4 * (ri * nr + 4 * j))))),
    get(ct), set(crow), get(tmp), set(trow), i32c(0), set(r),
    min(mValid, mrC), set(mValid), min(nValid, nrC), set(nValid),
    loop(
      i32c(0), set(s),
      loop(
        at(crow, s),
        at(trow, s), f32Load(), get(alpha), f32Mul,
        at(crow, s), f32Load(), f32c(0), get(beta), select,
        f32Add,
        f32Store(),
        incC(s, 1), get(s), get(nValid), i32LtS, brIf(0),
      ),
      inc(crow, get(ldc)), incC(trow, 4 * nr), incC(r, 1),
      get(r), get(mValid), i32LtS, brIf(0),
    ),
  );

  const body = seq(
    init,
    get(bp), set(bpan), get(c), set(cj), i32c(0), set(jr),
    loop(
      get(nc), get(jr), i32Sub, set(nValid),
      get(ap), set(apan), get(cj), set(ct), i32c(0), set(ir),
      loop(
        get(mc), get(ir), i32Sub, set(mValid),
        micro,
        get(mValid), i32c(mr), i32GeS, get(nValid), i32c(nr), i32GeS, i32And,
        ifThen([get(beta), ifThen([fullStore(true)], [fullStore(false)])], [partialStore]),
        inc(apan, get(aPanel)), inc(ct, get(ldcTile)), incC(ir, mr),
        get(ir), get(mc), i32LtS, brIf(0),
      ),
      inc(bpan, get(bPanel)), incC(cj, 4 * nr), incC(jr, nr),
      get(jr), get(nc), i32LtS, brIf(0),
    ),
  );
  return { name: packedA ? 'macroPacked' : 'macroStrided', fn: f, body };
}

/**
 * `pack{W}(dst, src, count, kc, es, ps)`: lays out `count` vectors (rows of A or columns of B) of
 * `kc` steps, element (i, p) at `src + i·es + p·ps`, as ⌈count/W⌉ panels of kc×W floats at `dst`
 * (panel-major, then step, then i within the panel); a partial last panel is zero-padded.
 */
function packKernel(width: number): WasmFunction {
  const f = new FunctionBuilder();
  const dst = f.param('dst', I32), src = f.param('src', I32), count = f.param('count', I32);
  const kc = f.param('kc', I32), es = f.param('es', I32), ps = f.param('ps', I32);
  const i0 = f.local('i0', I32), sp = f.local('sp', I32), p = f.local('p', I32), rem = f.local('rem', I32);
  const w = f.local('w', I32), dp = f.local('dp', I32), end = f.local('end', I32);
  const esW: number[] = [0];
  for (let i = 1; i < width; i++) esW.push(f.local(`es${i}`, I32));
  const panelBytes = f.local('panelBytes', I32);

  // One step of a whole panel, strided source: W scalar copies.
  const strided: Code[] = [];
  for (let i = 0; i < width; i++) {
    strided.push(get(dst), i === 0 ? get(sp) : seq(get(sp), get(esW[i]!), i32Add), f32Load(), f32Store(4 * i));
  }
  // One step of a whole panel, contiguous source (es = 4): vector copies.
  const contiguous: Code[] = [];
  let off = 0;
  for (; off + 4 <= width; off += 4) contiguous.push(get(dst), get(sp), v128Load(4 * off), v128Store(4 * off));
  if (off + 2 <= width) {
    contiguous.push(get(dst), get(sp), v128Load64Zero(4 * off), v128Store64Lane(4 * off, 0));
    off += 2;
  }
  if (off < width) contiguous.push(get(dst), get(sp), f32Load(4 * off), f32Store(4 * off));

  const wholePanel = (stepCode: Code[]): Code => seq(
    get(kc), set(p),
    loop(...stepCode, incC(dst, 4 * width), inc(sp, get(ps)), dec(p), get(p), brIf(0)),
  );
  const body = seq(
    ...esW.slice(1).map((l, i) => seq(get(es), i32c(i + 1), i32Mul, set(l))),
    get(kc), i32c(4 * width), i32Mul, set(panelBytes),
    i32c(0), set(i0),
    block(loop(
      get(count), get(i0), i32Sub, set(rem),
      get(rem), i32c(1), i32LtS, brIf(1),
      get(src), get(i0), get(es), i32Mul, i32Add, set(sp),
      get(rem), i32c(width), i32GeS,
      ifThen(
        [get(es), i32c(4), i32Eq, ifThen([wholePanel(contiguous)], [wholePanel(strided)])],
        [
          // Partial panel: zero it, then copy the `rem` valid vectors one float at a time.
          get(dst), set(dp), get(dst), get(panelBytes), i32Add, set(end),
          loop(get(dp), f32c(0), f32Store(), incC(dp, 4), get(dp), get(end), i32LtS, brIf(0)),
          i32c(0), set(w),
          loop(
            get(dst), get(w), i32c(2), i32Shl, i32Add, set(dp),
            get(src), get(i0), get(w), i32Add, get(es), i32Mul, i32Add, set(sp),
            get(kc), set(p),
            loop(get(dp), get(sp), f32Load(), f32Store(), incC(dp, 4 * width), inc(sp, get(ps)), dec(p), get(p), brIf(0)),
            incC(w, 1), get(w), get(rem), i32LtS, brIf(0),
          ),
          inc(dst, get(panelBytes)),
        ],
      ),
      incC(i0, width),
      br(0),
    )),
  );
  return { name: `pack${width}`, fn: f, body };
}

/**
 * The kernel module's bytes for a register tile: exports `macroPacked`, `macroStrided`,
 * `pack{mr}` and (when nr ≠ mr) `pack{nr}`, the quantised-block kernels of
 * `matmul-quant-kernels.ts` and the integer-dot decode kernels of `matmul-int8-kernels.ts` and `matmul-int8-k-kernels.ts`; imports `env.memory` (shared, at most `maxPages`).
 *
 * @example
 * const bytes = kernelModuleBytes({ mr: 6, nr: 8 }, 65536, { fma: true });
 * const module = new WebAssembly.Module(bytes);
 */
export function kernelModuleBytes(shape: TileShape, maxPages: number, options: KernelOptions): Uint8Array<ArrayBuffer> {
  if (shape.nr % 4 !== 0 || shape.mr < 1) throw new RangeError(`bad tile ${shape.mr}×${shape.nr}`);
  const functions = [macroKernel(shape, true, options), macroKernel(shape, false, options), packKernel(shape.mr)];
  if (shape.nr !== shape.mr) functions.push(packKernel(shape.nr));
  const int8Options = { fma: options.fma, relaxedDot: options.relaxedDot ?? false };
  functions.push(...quantKernels(options), ...int8Kernels(int8Options), ...superBlockInt8Kernels(int8Options));
  return wasmModule({ minPages: 1, maxPages, shared: true }, functions);
}
