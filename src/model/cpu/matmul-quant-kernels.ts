/**
 * Generates the WebAssembly SIMD kernels that compute on ggml's quantised blocks
 * (`ggml-quants.ts`), part of the matmul module (`matmul-wasm-kernels.ts`):
 *
 * - `dqQ8_0`, `dqQ4_0`, `dqQ4_K`, `dqQ6_K` `(dst, dstStride, src, srcStride, rows, blocks)`: dequantise
 *   `blocks` consecutive blocks of each of `rows` rows (rows `srcStride` bytes apart at `src`) to f32
 *   rows `dstStride` bytes apart at `dst`. Each block's bytes are turned into f32x4 vectors in
 *   registers (nibbles split with `v128.and` / `i8x16.shr_u`, sign-extended twice, converted,
 *   scaled, with Q4_K's min added by a fused multiply-add) and stored with vector stores.
 * - `dot4(a, lda, w, kc, m, c, ldc, alpha, beta, nValid, ldw)`: C[i, r] = alpha · A[i, 0..kc)·W[r, 0..kc)
 *   (+ C when beta) for m rows of A and the 4 f32 rows of W at `w`, `ldw` bytes apart (the
 *   dequantised scratch's `DECODE_KC` floats, or an f32 weight's own rows; only the first `nValid`
 *   columns of C are written). Two rows of A at a time: per 4 elements, 2 loads of
 *   A, 4 of W and 8 multiply-adds into 8 f32x4 accumulators.
 *
 * The f16 block scales are converted with integer arithmetic (no f16 instructions in WebAssembly):
 * the half's bits moved to f32 position times 2¹¹², exact for normal and subnormal halves (ggml
 * never writes infinite or NaN scales; they would come out as large finite numbers here).
 */
import {
  F32, FunctionBuilder, I32, V128, block, br, brIf, f32Add, f32ConvertI32S, f32Load, f32Mul, f32Neg, f32ReinterpretI32,
  f32Store, f32c, f32x4Add, f32x4ConvertI32x4S, f32x4ExtractLane, f32x4Mul, f32x4RelaxedMadd, f32x4Splat, get, i16x8ExtendHighI8x16S,
  i16x8ExtendLowI8x16S, i32Add, i32And, i32GeS, i32Load16U, i32Load8S, i32Load8U, i32LtS, i32Mul, i32Or, i32ReinterpretF32, i32Shl, i32ShrU,
  i32Sub, i32c, i32x4ExtendHighI16x8S, i32x4ExtendLowI16x8S, i8x16Shl, i8x16ShrU, i8x16Splat, i8x16Sub, ifThen, loop, ret, select,
  seq, set, v128And, v128Load, v128Or, v128Store, v128Zero,
} from './wasm-emit.ts';
import type { Code, WasmFunction } from './wasm-emit.ts';
import type { QuantType } from '../ggml-quants.ts';

/** Floats per row of the `dot4` kernel's W scratch: the decode path's chunk of k (a multiple of 256). */
export const DECODE_KC = 512;

const inc = (local: number, by: Code): Code => seq(get(local), by, i32Add, set(local));
const incC = (local: number, by: number): Code => inc(local, i32c(by));
const dec = (local: number): Code => seq(get(local), i32c(1), i32Sub, set(local));

/** Pushes the f32 value of the f16 at byte `offset` from the address in local `base` (uses local `h`). */
function halfAt(base: number, offset: number, h: number): Code {
  return seq(
    get(base), i32Load16U(offset), set(h),
    get(h), i32c(0x7fff), i32And, i32c(13), i32Shl, f32ReinterpretI32, f32c(2 ** 112), f32Mul,
    i32ReinterpretF32, get(h), i32c(0x8000), i32And, i32c(16), i32Shl, i32Or, f32ReinterpretI32,
  );
}

interface BlockLocals {
  /** Address of the block's bytes and of its f32 output. */
  s: number;
  d: number;
  h: number;
  q: number;
  v16: number;
  fma: boolean;
}

/**
 * Stores the 16 signed i8 lanes of local `q` as f32 · `scale` (+ `bias`) at d + `offset` bytes
 * (4 vector stores).
 */
function store16(l: BlockLocals, offset: number, scale: number, bias?: number): Code {
  const parts: Code[] = [];
  for (const [hi, widen] of [[0, i16x8ExtendLowI8x16S], [1, i16x8ExtendHighI8x16S]] as const) {
    parts.push(get(l.q), widen, set(l.v16));
    for (const [part, widen32] of [[0, i32x4ExtendLowI16x8S], [1, i32x4ExtendHighI16x8S]] as const) {
      const scaled = bias === undefined ? seq(get(scale), f32x4Mul)
        : l.fma ? seq(get(scale), get(bias), f32x4RelaxedMadd) : seq(get(scale), f32x4Mul, get(bias), f32x4Add);
      parts.push(get(l.d), get(l.v16), widen32, f32x4ConvertI32x4S, scaled, v128Store(offset + 16 * (2 * hi + part)));
    }
  }
  return seq(...parts);
}

/** One block's dequantisation, per type. `f` declares any extra locals it needs. */
function blockCode(type: QuantType, f: FunctionBuilder, l: BlockLocals): Code {
  const raw = f.local('raw', V128), scale = f.local('scale', V128);
  const splat8 = (v: number) => seq(i32c(v), i8x16Splat);
  switch (type) {
    case 'Q8_0':
      return seq(
        halfAt(l.s, 0, l.h), f32x4Splat, set(scale),
        get(l.s), v128Load(2), set(l.q), store16(l, 0, scale),
        get(l.s), v128Load(18), set(l.q), store16(l, 64, scale),
      );
    case 'Q4_0':
      return seq(
        halfAt(l.s, 0, l.h), f32x4Splat, set(scale),
        get(l.s), v128Load(2), set(raw),
        get(raw), splat8(0x0f), v128And, splat8(8), i8x16Sub, set(l.q), store16(l, 0, scale),
        get(raw), i32c(4), i8x16ShrU, splat8(8), i8x16Sub, set(l.q), store16(l, 64, scale),
      );
    case 'Q4_K': {
      const d = f.local('dk', F32), dmin = f.local('dmink', F32), raw1 = f.local('raw1', V128);
      const scale1 = f.local('scale1', V128), bias = f.local('bias', V128), bias1 = f.local('bias1', V128);
      const byte = (at: number) => seq(get(l.s), i32Load8U(at));
      // 6-bit scale and min of sub-block sb (scales at byte 4)
      const sc = (sb: number) => sb < 4 ? seq(byte(4 + sb), i32c(63), i32And)
        : seq(byte(8 + sb), i32c(15), i32And, byte(sb), i32c(6), i32ShrU, i32c(4), i32Shl, i32Or);
      const mn = (sb: number) => sb < 4 ? seq(byte(8 + sb), i32c(63), i32And)
        : seq(byte(8 + sb), i32c(4), i32ShrU, byte(4 + sb), i32c(6), i32ShrU, i32c(4), i32Shl, i32Or);
      const scaleBias = (sb: number, s: number, b: number) => seq(
        get(d), sc(sb), f32ConvertI32S, f32Mul, f32x4Splat, set(s),
        get(dmin), mn(sb), f32ConvertI32S, f32Mul, f32Neg, f32x4Splat, set(b),
      );
      const parts: Code[] = [halfAt(l.s, 0, l.h), set(d), halfAt(l.s, 2, l.h), set(dmin)];
      for (let j = 0; j < 4; j++) {
        const out = 4 * 64 * j;
        parts.push(
          scaleBias(2 * j, scale, bias), scaleBias(2 * j + 1, scale1, bias1),
          get(l.s), v128Load(16 + 32 * j), set(raw), get(l.s), v128Load(32 + 32 * j), set(raw1),
          get(raw), splat8(0x0f), v128And, set(l.q), store16(l, out, scale, bias),
          get(raw1), splat8(0x0f), v128And, set(l.q), store16(l, out + 64, scale, bias),
          get(raw), i32c(4), i8x16ShrU, set(l.q), store16(l, out + 128, scale1, bias1),
          get(raw1), i32c(4), i8x16ShrU, set(l.q), store16(l, out + 192, scale1, bias1),
        );
      }
      return seq(...parts);
    }
    case 'Q6_K': {
      const d = f.local('d6', F32), ql32 = f.local('ql32', V128), qh = f.local('qh', V128);
      const subScale = (sb: number) => seq(get(d), get(l.s), i32Load8S(192 + sb), f32ConvertI32S, f32Mul, f32x4Splat, set(scale));
      const parts: Code[] = [halfAt(l.s, 208, l.h), set(d)];
      for (let h = 0; h < 2; h++) {
        for (let lh = 0; lh < 2; lh++) {
          const lo = 16 * lh, out = 4 * (128 * h + lo), sb = 8 * h + lh;
          parts.push(
            get(l.s), v128Load(64 * h + lo), set(raw), get(l.s), v128Load(64 * h + 32 + lo), set(ql32), get(l.s), v128Load(128 + 32 * h + lo), set(qh),
            // q1 = (ql[l] & 15) | (qh & 3) << 4, elements 128h + l
            get(raw), splat8(0x0f), v128And, get(qh), splat8(0x03), v128And, i32c(4), i8x16Shl, v128Or, splat8(32), i8x16Sub, set(l.q),
            subScale(sb), store16(l, out, scale),
            // q2 = (ql[l + 32] & 15) | (qh & 12) << 2, elements 128h + 32 + l
            get(ql32), splat8(0x0f), v128And, get(qh), splat8(0x0c), v128And, i32c(2), i8x16Shl, v128Or, splat8(32), i8x16Sub, set(l.q),
            subScale(sb + 2), store16(l, out + 128, scale),
            // q3 = ql[l] >> 4 | (qh & 0x30), elements 128h + 64 + l
            get(raw), i32c(4), i8x16ShrU, get(qh), splat8(0x30), v128And, v128Or, splat8(32), i8x16Sub, set(l.q),
            subScale(sb + 4), store16(l, out + 256, scale),
            // q4 = ql[l + 32] >> 4 | (qh >> 2 & 0x30), elements 128h + 96 + l
            get(ql32), i32c(4), i8x16ShrU, get(qh), i32c(2), i8x16ShrU, splat8(0x30), v128And, v128Or, splat8(32), i8x16Sub, set(l.q),
            subScale(sb + 6), store16(l, out + 384, scale),
          );
        }
      }
      return seq(...parts);
    }
  }
}

const FORMAT: Record<QuantType, { block: number; bytes: number }> = {
  Q8_0: { block: 32, bytes: 34 }, Q4_0: { block: 32, bytes: 18 }, Q4_K: { block: 256, bytes: 144 }, Q6_K: { block: 256, bytes: 210 },
};

/** `dq{type}(dst, dstStride, src, srcStride, rows, blocks)`. */
function dequantKernel(type: QuantType, fma: boolean): WasmFunction {
  const f = new FunctionBuilder();
  const dst = f.param('dst', I32), dstStride = f.param('dstStride', I32), src = f.param('src', I32), srcStride = f.param('srcStride', I32);
  const rows = f.param('rows', I32), blocks = f.param('blocks', I32);
  const l: BlockLocals = { s: f.local('s', I32), d: f.local('d', I32), h: f.local('h', I32), q: f.local('q', V128), v16: f.local('v16', V128), fma };
  const r = f.local('r', I32), b = f.local('b', I32);
  const { block: count, bytes } = FORMAT[type];
  const body = seq(
    get(rows), i32c(1), i32LtS, get(blocks), i32c(1), i32LtS, i32Or, ifThen([ret]),
    get(rows), set(r),
    loop(
      get(dst), set(l.d), get(src), set(l.s), get(blocks), set(b),
      loop(blockCode(type, f, l), incC(l.s, bytes), incC(l.d, 4 * count), dec(b), get(b), brIf(0)),
      inc(dst, get(dstStride)), inc(src, get(srcStride)), dec(r), get(r), brIf(0),
    ),
  );
  return { name: `dq${type}`, fn: f, body };
}

/** `dot4(a, lda, w, kc, m, c, ldc, alpha, beta, nValid, ldw)` (see the file comment). */
function dotKernel(fma: boolean): WasmFunction {
  const f = new FunctionBuilder();
  const a = f.param('a', I32), lda = f.param('lda', I32), w = f.param('w', I32), kc = f.param('kc', I32), m = f.param('m', I32);
  const c = f.param('c', I32), ldc = f.param('ldc', I32), alpha = f.param('alpha', F32), beta = f.param('beta', I32), nValid = f.param('nValid', I32);
  const ldw = f.param('ldw', I32);
  const acc = [0, 1].map((i) => [0, 1, 2, 3].map((r) => f.local(`acc${i}_${r}`, V128)));
  const av = [f.local('a0', V128), f.local('a1', V128)], wv = f.local('wv', V128);
  const pa = [f.local('pa0', I32), f.local('pa1', I32)], p = f.local('p', I32), i = f.local('i', I32), crow = f.local('crow', I32);
  const pw = [0, 1, 2, 3].map((r) => f.local(`pw${r}`, I32));

  const madd = (x: number, y: number, z: number) => (fma ? seq(get(x), get(y), get(z), f32x4RelaxedMadd) : seq(get(x), get(y), f32x4Mul, get(z), f32x4Add));
  const hsum = (v: number) => seq(get(v), f32x4ExtractLane(0), get(v), f32x4ExtractLane(1), f32Add, get(v), f32x4ExtractLane(2), f32Add, get(v), f32x4ExtractLane(3), f32Add);
  /** C[row, r] for r < nValid := alpha·Σacc (+ C). */
  const storeRow = (rowAcc: number[]) => seq(...rowAcc.map((v, r) => {
    const one = seq(get(crow), hsum(v), get(alpha), f32Mul, get(crow), f32Load(4 * r), f32c(0), get(beta), select, f32Add, f32Store(4 * r));
    return r === 0 ? one : seq(i32c(r), get(nValid), i32LtS, ifThen([one]));
  }));
  /** The inner loop over kc/4 steps for `rowsNow` (1 or 2) rows of A. */
  const sweep = (rowsNow: number) => {
    const step: Code[] = [];
    for (let t = 0; t < rowsNow; t++) step.push(get(pa[t]!), v128Load(), set(av[t]!));
    for (let r = 0; r < 4; r++) {
      step.push(get(pw[r]!), v128Load(), set(wv));
      for (let t = 0; t < rowsNow; t++) step.push(madd(av[t]!, wv, acc[t]![r]!), set(acc[t]![r]!));
    }
    return seq(
      ...acc.slice(0, rowsNow).flat().map((v) => seq(v128Zero, set(v))),
      get(a), get(i), get(lda), i32Mul, i32Add, set(pa[0]!),
      ...(rowsNow > 1 ? [seq(get(pa[0]!), get(lda), i32Add, set(pa[1]!))] : []),
      ...pw.map((x, r) => seq(get(w), get(ldw), i32c(r), i32Mul, i32Add, set(x))),
      get(kc), i32c(2), i32ShrU, set(p),
      loop(...step, ...pa.slice(0, rowsNow).map((x) => incC(x, 16)), ...pw.map((x) => incC(x, 16)), dec(p), get(p), brIf(0)),
      get(c), get(i), get(ldc), i32Mul, i32Add, set(crow),
      storeRow(acc[0]!),
      ...(rowsNow > 1 ? [seq(inc(crow, get(ldc)), storeRow(acc[1]!))] : []),
    );
  };
  const body = seq(
    i32c(0), set(i),
    block(loop(
      get(m), get(i), i32Sub, i32c(2), i32LtS, brIf(1),
      sweep(2),
      incC(i, 2), br(0),
    )),
    get(i), get(m), i32LtS, ifThen([sweep(1)]),
  );
  return { name: 'dot4', fn: f, body };
}

/**
 * `dot8(a, lda, w, kc, m, c, ldc, alpha, beta, nValid, ldw)`: as `dot4` for 8 rows of W, one row
 * of A at a time — eight memory streams, for products of one row, which only stream W.
 */
function dot8Kernel(fma: boolean): WasmFunction {
  const f = new FunctionBuilder();
  const a = f.param('a', I32), lda = f.param('lda', I32), w = f.param('w', I32), kc = f.param('kc', I32), m = f.param('m', I32);
  const c = f.param('c', I32), ldc = f.param('ldc', I32), alpha = f.param('alpha', F32), beta = f.param('beta', I32), nValid = f.param('nValid', I32);
  const ldw = f.param('ldw', I32);
  const acc = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => f.local(`acc${r}`, V128));
  const av = f.local('a0', V128), wv = f.local('wv', V128);
  const pa = f.local('pa', I32), p = f.local('p', I32), i = f.local('i', I32), crow = f.local('crow', I32);
  const pw = acc.map((_, r) => f.local(`pw${r}`, I32));
  const madd = (x: number, y: number, z: number) => (fma ? seq(get(x), get(y), get(z), f32x4RelaxedMadd) : seq(get(x), get(y), f32x4Mul, get(z), f32x4Add));
  const hsum = (v: number) => seq(get(v), f32x4ExtractLane(0), get(v), f32x4ExtractLane(1), f32Add, get(v), f32x4ExtractLane(2), f32Add, get(v), f32x4ExtractLane(3), f32Add);
  const storeRow = seq(...acc.map((v, r) => {
    const one = seq(get(crow), hsum(v), get(alpha), f32Mul, get(crow), f32Load(4 * r), f32c(0), get(beta), select, f32Add, f32Store(4 * r));
    return r === 0 ? one : seq(i32c(r), get(nValid), i32LtS, ifThen([one]));
  }));
  const step: Code[] = [get(pa), v128Load(), set(av)];
  for (let r = 0; r < 8; r++) step.push(get(pw[r]!), v128Load(), set(wv), madd(av, wv, acc[r]!), set(acc[r]!));
  const body = seq(
    i32c(0), set(i),
    block(loop(
      get(i), get(m), i32GeS, brIf(1),
      ...acc.map((v) => seq(v128Zero, set(v))),
      get(a), get(i), get(lda), i32Mul, i32Add, set(pa),
      ...pw.map((x, r) => seq(get(w), get(ldw), i32c(r), i32Mul, i32Add, set(x))),
      get(kc), i32c(2), i32ShrU, set(p),
      loop(...step, incC(pa, 16), ...pw.map((x) => incC(x, 16)), dec(p), get(p), brIf(0)),
      get(c), get(i), get(ldc), i32Mul, i32Add, set(crow),
      storeRow,
      incC(i, 1), br(0),
    )),
  );
  return { name: 'dot8', fn: f, body };
}

/**
 * `loraAxpy(y, u, bt, r, out)`: y[0..out) += Σ_k u[k]·Bᵀ[k, 0..out) — a LoRA update of one row from
 * its adapter's Bᵀ [r, out] (out a multiple of 4), four columns at a time, the r terms in registers.
 */
function loraAxpyKernel(fma: boolean): WasmFunction {
  const f = new FunctionBuilder();
  const y = f.param('y', I32), u = f.param('u', I32), bt = f.param('bt', I32), r = f.param('r', I32), out = f.param('out', I32);
  const j = f.local('j', I32), end = f.local('end', I32), ob = f.local('ob', I32), pk = f.local('pk', I32), pb = f.local('pb', I32), pu = f.local('pu', I32);
  const i32Scratch = f.local('left', I32);
  const acc = f.local('acc', V128), us = f.local('us', V128), bv = f.local('bv', V128);
  const madd = fma ? seq(get(us), get(bv), get(acc), f32x4RelaxedMadd) : seq(get(us), get(bv), f32x4Mul, get(acc), f32x4Add);
  const body = seq(
    get(out), i32c(2), i32Shl, set(ob),
    get(y), get(ob), i32Add, set(end),
    get(y), set(j),
    get(bt), set(pb),
    block(loop(
      get(j), get(end), i32GeS, brIf(1),
      get(j), v128Load(), set(acc),
      get(pb), set(pk), // pb: this block of four columns in row 0 of Bᵀ; pk walks down its rows
      get(u), set(pu),
      get(r), set(i32Scratch),
      loop(
        get(pu), f32Load(), f32x4Splat, set(us),
        get(pk), v128Load(), set(bv),
        madd, set(acc),
        inc(pk, get(ob)), incC(pu, 4), dec(i32Scratch), get(i32Scratch), brIf(0),
      ),
      get(j), get(acc), v128Store(),
      incC(j, 16), incC(pb, 16), br(0),
    )),
  );
  return { name: 'loraAxpy', fn: f, body };
}

/**
 * The quantised-block kernels for the matmul module.
 *
 * @example
 * const functions = [...f32Kernels, ...quantKernels({ fma: true })];
 */
export function quantKernels(options: { fma: boolean }): WasmFunction[] {
  return [...(['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'] as const).map((t) => dequantKernel(t, options.fma)), dotKernel(options.fma), dot8Kernel(options.fma), loraAxpyKernel(options.fma)];
}
