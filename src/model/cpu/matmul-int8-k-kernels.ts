/**
 * Generates the integer-dot decode kernels for ggml's 256-element super-block types (part of the
 * matmul module, beside `matmul-int8-kernels.ts`, whose `qa8` rounds the rows of A to 8-bit blocks
 * of 32 with a record (f32 d_a, i32 Σq_a) per block; these kernels want `sumScale` = 1 for Q4_K
 * and ignore the sum for Q6_K).
 *
 * `idot{Q4_K,Q6_K}(qa, da, k, m, w, ldw, rows, c, ldc, alpha, beta)` has `idotQ4_0`'s contract:
 * C[i, r] = alpha·Σ (W row r dequantised)·(A row i rounded) (+ C when beta), four rows of W at a
 * time (missing rows of the last group alias its last row and are not stored), two rows of A per
 * sweep over k. Per super-block and group of four W rows, a prologue unpacks the sub-block scales
 * of the four rows and transposes them (byte shuffles) into one f32x4 per sub-block whose lane r is
 * row r's d·sc (and, for Q4_K, dmin·m); the f16 d of the four rows are gathered as in
 * `matmul-int8-kernels.ts`. The inner loops are integer dots per activation block, as for Q4_0:
 *
 * - **Q4_K**: sub-block s (32 elements, activation block s of the super-block) contributes
 *   d_a·(d·sc_s·Σ q_w·q_a − dmin·m_s·Σ q_a). The first term is relaxed SIMD's i8×i7 dot of the
 *   activations with the raw nibbles (0–15), converted and multiplied by the lane of d·sc_s·d_a;
 *   the second is summed per sweep into one f32x4 per row of A (lane r: W row r) from the records'
 *   d_a·Σq_a and the mins, and subtracted at the end.
 * - **Q6_K**: each activation block covers two sub-blocks of 16 with their own signed scales. The
 *   6-bit q (0–63) is the dot's 7-bit operand; its offset of 32 is the dot's addend, −32·Σq_a per
 *   lane, computed once per (row of A, sub-block) by a dot with a vector of 32s and shared by the
 *   four W rows.
 *
 * Without relaxed SIMD the dots are `i32x4.dot_i16x8_s` on sign-extended bytes (Q6_K: q − 32
 * first). Integer sums are exact (< 2²⁴); only the f32 scaling and accumulation round.
 */
import {
  F32, FunctionBuilder, I32, V128, f32Add, f32ConvertI32S, f32Load, f32Mul, f32Store, f32Sub, f32c, f32x4Add, f32x4ConvertI32x4S,
  f32x4ExtractLane, f32x4Mul, f32x4RelaxedMadd, f32x4Splat, get, i16x8ExtendHighI8x16S, i16x8ExtendLowI8x16S, i32Add, i32Load, i32LtS,
  i32Mul, i32Or, i32ShrU, i32Sub, i32c, i32x4DotI16x8S, i32x4Neg, i32x4RelaxedDotI8x16I7x16AddS, i32x4ShrS, i32x4Splat,
  i32x4Add, i8x16Shl, i8x16ShrU, i8x16Shuffle, i8x16Splat, i8x16Sub, ifThen, loop, brIf, ret, select, seq, set, shuffle32, v128And,
  v128Bitselect, v128Const, v128Load, v128Load16Lane, v128Load32Splat, v128Load8x8S, v128Or, v128Zero,
} from './wasm-emit.ts';
import type { Code, WasmFunction } from './wasm-emit.ts';
import { ACT_BLOCK, ACT_RECORD_BYTES, rowGroupLoop } from './matmul-int8-kernels.ts';
import type { Int8KernelOptions } from './matmul-int8-kernels.ts';

/** The super-block types with integer-dot kernels. */
export type KInt8Type = 'Q4_K' | 'Q6_K';
export const K_INT8_TYPES: readonly KInt8Type[] = ['Q4_K', 'Q6_K'];
/** Elements per super-block. */
export const SUPER_BLOCK = 256;
const SUPER_BYTES: Record<KInt8Type, number> = { Q4_K: 144, Q6_K: 210 };
/** Activation blocks per super-block. */
const ACT_PER_SUPER = SUPER_BLOCK / ACT_BLOCK;

const inc = (local: number, by: Code): Code => seq(get(local), by, i32Add, set(local));
const incC = (local: number, by: number): Code => inc(local, i32c(by));
const dec = (local: number): Code => seq(get(local), i32c(1), i32Sub, set(local));
const splatLane = (v: number, r: number): Code => seq(get(v), get(v), shuffle32([r, r, r, r]));
/** 16 bytes, 0xff where `on(lane)`. */
const mask = (on: (lane: number) => boolean): Code => v128Const(Array.from({ length: 16 }, (_, l) => (on(l) ? 0xff : 0)));
const bytesConst = (value: number): Code => v128Const(new Array<number>(16).fill(value));

/** The locals and shared pieces of one kernel's code, handed to its type's super-block code. */
interface Ctx {
  f: FunctionBuilder;
  o: Int8KernelOptions;
  /** W rows' current super-block, activation rows' current block and record. */
  qw: number[];
  pa: number[];
  pd: number[];
  /** acc[t][r]: f32x4 partial sums of row t of A · row r of W. */
  acc: number[][];
  /** min[t]: f32x4, lane r the part to subtract from C[t, r] (Q4_K's mins). */
  min: number[];
  /** `x·y + acc` into acc (fused with relaxed SIMD). */
  madd: (x: Code, y: Code, acc: number) => Code;
  /** The f16 at `offset` of the four W rows' super-blocks as one f32x4. */
  halves: (offset: number) => Code;
  /** Transposes four 16-byte vectors (locals) in place: afterwards vector k holds, at byte 4j + r, byte 4k + j of input r. */
  transpose: (v: number[]) => Code;
}

/** Scale vectors: 4 locals, transposed so that lanes are W rows. */
function transposeCode(tmp: number[]): (v: number[]) => Code {
  const interleave = (half: 0 | 1) => i8x16Shuffle(Array.from({ length: 16 }, (_, l) => (l & 1 ? 16 : 0) + 8 * half + (l >> 1)));
  const pairs = (half: 0 | 1) => i8x16Shuffle(Array.from({ length: 16 }, (_, l) => ((l & 2) ? 16 : 0) + 8 * half + 2 * (l >> 2) + (l & 1)));
  return (v) => seq(
    get(v[0]!), get(v[1]!), interleave(0), set(tmp[0]!), get(v[0]!), get(v[1]!), interleave(1), set(tmp[1]!),
    get(v[2]!), get(v[3]!), interleave(0), set(tmp[2]!), get(v[2]!), get(v[3]!), interleave(1), set(tmp[3]!),
    get(tmp[0]!), get(tmp[2]!), pairs(0), set(v[0]!), get(tmp[0]!), get(tmp[2]!), pairs(1), set(v[1]!),
    get(tmp[1]!), get(tmp[3]!), pairs(0), set(v[2]!), get(tmp[1]!), get(tmp[3]!), pairs(1), set(v[3]!),
  );
}

/** Byte j of each 4-byte group of a transposed scale vector, into i32 lanes: zero-extended, or sign-extended (`signed`). */
function scaleLanes(t: number, j: number, signed: boolean): Code {
  const z = 16;
  const lanes = Array.from({ length: 16 }, (_, l) => ((l & 3) === (signed ? 3 : 0) ? 4 * j + (l >> 2) : z));
  return signed ? seq(get(t), v128Zero, i8x16Shuffle(lanes), i32c(24), i32x4ShrS) : seq(get(t), v128Zero, i8x16Shuffle(lanes));
}

/**
 * Integer dot of the 16 activation bytes at `pa + off` with the 7-bit operand `w` (a local) plus
 * `addend`, four products per i32 lane; without relaxed SIMD, with the signed bytes `signedW`
 * (default `w`) by i16 dots, and no addend.
 */
function dot16(ctx: Ctx, pa: number, off: number, w: number, addend: Code, signedW?: number): Code {
  if (ctx.o.relaxedDot) return seq(get(pa), v128Load(off), get(w), addend, i32x4RelaxedDotI8x16I7x16AddS);
  const s = signedW ?? w;
  return seq(get(s), i16x8ExtendLowI8x16S, get(pa), v128Load8x8S(off), i32x4DotI16x8S,
    get(s), i16x8ExtendHighI8x16S, get(pa), v128Load8x8S(off + 8), i32x4DotI16x8S, i32x4Add);
}

/** One Q4_K super-block for `rowsNow` rows of A (see the file comment). */
function q4kSuperBlock(ctx: Ctx, rowsNow: number): Code {
  const { f, qw, pa, pd, acc } = ctx;
  const loc = (name: string) => f.local(name, V128);
  const v = [0, 1, 2, 3].map((r) => loc(`k4v${r}_${rowsNow}`));
  const sc = Array.from({ length: 8 }, (_, s) => loc(`k4sc${s}_${rowsNow}`)), mn = Array.from({ length: 8 }, (_, s) => loc(`k4m${s}_${rowsNow}`));
  const dv = loc(`k4d_${rowsNow}`), dmv = loc(`k4dm_${rowsNow}`), a = loc(`k4a_${rowsNow}`), b = loc(`k4b_${rowsNow}`);
  const nib = [0, 1, 2, 3].map((u) => loc(`k4n${u}_${rowsNow}`));
  const st = Array.from({ length: rowsNow }, (_, t) => [loc(`k4se${t}_${rowsNow}`), loc(`k4so${t}_${rowsNow}`)]);
  // bytes 4..15 are the scales: [sc0..sc7, m0..m7] from sc/m s < 4 (low 6 bits of bytes s, s + 4) and s ≥ 4 (nibbles of byte s + 4, top bits of bytes s − 4, s)
  const unpack = (r: number) => seq(
    get(qw[r]!), v128Load(4), set(b),
    get(b), get(b), i8x16Shuffle([0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11]), set(a),
    // the top two bits of bytes s − 4 (scales) and s (mins) for s ≥ 4, at bits 4–5
    get(b), get(b), i8x16Shuffle([0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7]), i32c(2), i8x16ShrU, bytesConst(0x30), v128And, set(b),
    // s ≥ 4: scale = low nibble | top bits, min = high nibble | top bits
    get(a), bytesConst(0x0f), v128And, get(a), i32c(4), i8x16ShrU, mask((l) => l < 8), v128Bitselect, get(b), v128Or, set(b),
    // s < 4: the low six bits
    get(a), bytesConst(0x3f), v128And, get(b), mask((l) => (l & 7) < 4), v128Bitselect, set(v[r]!),
  );
  const prologue = seq(
    ctx.halves(0), set(dv), ctx.halves(2), set(dmv),
    ...qw.map((_, r) => unpack(r)), ctx.transpose(v),
    ...sc.map((x, s) => seq(scaleLanes(v[s >> 2]!, s & 3, false), f32x4ConvertI32x4S, get(dv), f32x4Mul, set(x))),
    ...mn.map((x, s) => seq(scaleLanes(v[2 + (s >> 2)]!, s & 3, false), f32x4ConvertI32x4S, get(dmv), f32x4Mul, set(x))),
    ...Array.from({ length: rowsNow }, (_, t) => seq(...mn.map((x, s) => seq(
      ctx.madd(get(x), seq(get(pd[t]!), f32Load(ACT_RECORD_BYTES * s), get(pd[t]!), i32Load(ACT_RECORD_BYTES * s + 4), f32ConvertI32S, f32Mul, f32x4Splat), ctx.min[t]!),
      set(ctx.min[t]!))))),
  );
  const pairs: Code[] = [];
  for (let p = 0; p < 4; p++) {
    for (let t = 0; t < rowsNow; t++) {
      for (const h of [0, 1]) pairs.push(get(sc[2 * p + h]!), get(pd[t]!), v128Load32Splat(ACT_RECORD_BYTES * (2 * p + h)), f32x4Mul, set(st[t]![h]!));
    }
    for (let r = 0; r < 4; r++) {
      pairs.push(
        get(qw[r]!), v128Load(16 + 32 * p), set(a), get(qw[r]!), v128Load(32 + 32 * p), set(b),
        get(a), bytesConst(0x0f), v128And, set(nib[0]!), get(b), bytesConst(0x0f), v128And, set(nib[1]!),
        get(a), i32c(4), i8x16ShrU, set(nib[2]!), get(b), i32c(4), i8x16ShrU, set(nib[3]!),
      );
      for (let t = 0; t < rowsNow; t++) {
        for (const h of [0, 1]) {
          const off = 64 * p + 32 * h;
          const sum = ctx.o.relaxedDot
            ? seq(get(pa[t]!), v128Load(off), get(nib[2 * h]!), get(pa[t]!), v128Load(off + 16), get(nib[2 * h + 1]!), v128Zero,
              i32x4RelaxedDotI8x16I7x16AddS, i32x4RelaxedDotI8x16I7x16AddS)
            : seq(dot16(ctx, pa[t]!, off, nib[2 * h]!, v128Zero), dot16(ctx, pa[t]!, off + 16, nib[2 * h + 1]!, v128Zero), i32x4Add);
          pairs.push(ctx.madd(seq(sum, f32x4ConvertI32x4S), splatLane(st[t]![h]!, r), acc[t]![r]!), set(acc[t]![r]!));
        }
      }
    }
  }
  return seq(prologue, ...pairs);
}

/** One Q6_K super-block for `rowsNow` rows of A (see the file comment). */
function q6kSuperBlock(ctx: Ctx, rowsNow: number): Code {
  const { f, qw, pa, pd, acc, o } = ctx;
  const loc = (name: string) => f.local(name, V128);
  const v = [0, 1, 2, 3].map((r) => loc(`k6v${r}_${rowsNow}`));
  const sc = Array.from({ length: 16 }, (_, u) => loc(`k6sc${u}_${rowsNow}`));
  const dv = loc(`k6d_${rowsNow}`), q = [loc(`k6q0_${rowsNow}`), loc(`k6q1_${rowsNow}`)], qs = [loc(`k6s0_${rowsNow}`), loc(`k6s1_${rowsNow}`)];
  const st = Array.from({ length: rowsNow }, (_, t) => [loc(`k6st${t}a_${rowsNow}`), loc(`k6st${t}b_${rowsNow}`)]);
  const nb = Array.from({ length: rowsNow }, (_, t) => [loc(`k6nb${t}a_${rowsNow}`), loc(`k6nb${t}b_${rowsNow}`)]);
  const prologue = seq(
    ctx.halves(208), set(dv),
    ...qw.map((w, r) => seq(get(w), v128Load(192), set(v[r]!))), ctx.transpose(v),
    ...sc.map((x, u) => seq(scaleLanes(v[u >> 2]!, u & 3, true), f32x4ConvertI32x4S, get(dv), f32x4Mul, set(x))),
  );
  /** The high bits of element group c (0–3) of a qh vector, moved to bits 4–5. */
  const highBits = (c: number): Code => seq(...(c === 2 ? [] : c === 3 ? [i32c(2), i8x16ShrU] : [i32c(4 - 2 * c), i8x16Shl]), bytesConst(0x30), v128And);
  const blocks: Code[] = [];
  for (let s = 0; s < ACT_PER_SUPER; s++) {
    const hh = s >> 2, c = s & 3;
    for (let t = 0; t < rowsNow; t++) {
      for (const h of [0, 1]) {
        blocks.push(get(sc[2 * s + h]!), get(pd[t]!), v128Load32Splat(ACT_RECORD_BYTES * s), f32x4Mul, set(st[t]![h]!));
        if (o.relaxedDot) blocks.push(get(pa[t]!), v128Load(32 * s + 16 * h), bytesConst(32), v128Zero, i32x4RelaxedDotI8x16I7x16AddS, i32x4Neg, set(nb[t]![h]!));
      }
    }
    for (let r = 0; r < 4; r++) {
      for (const h of [0, 1]) {
        const low = seq(get(qw[r]!), v128Load(64 * hh + 32 * (c & 1) + 16 * h), ...(c < 2 ? [bytesConst(0x0f), v128And] : [i32c(4), i8x16ShrU]));
        blocks.push(low, get(qw[r]!), v128Load(128 + 32 * hh + 16 * h), highBits(c), v128Or, set(q[h]!));
        if (!o.relaxedDot) blocks.push(get(q[h]!), i32c(32), i8x16Splat, i8x16Sub, set(qs[h]!));
      }
      for (let t = 0; t < rowsNow; t++) {
        for (const h of [0, 1]) {
          const sum = dot16(ctx, pa[t]!, 32 * s + 16 * h, q[h]!, o.relaxedDot ? get(nb[t]![h]!) : v128Zero, qs[h]!);
          blocks.push(ctx.madd(seq(sum, f32x4ConvertI32x4S), splatLane(st[t]![h]!, r), acc[t]![r]!), set(acc[t]![r]!));
        }
      }
    }
  }
  return seq(prologue, ...blocks);
}

const SUPER_BLOCK_CODE: Record<KInt8Type, (ctx: Ctx, rowsNow: number) => Code> = { Q4_K: q4kSuperBlock, Q6_K: q6kSuperBlock };

/** `idot{type}(qa, da, k, m, w, ldw, rows, c, ldc, alpha, beta)` (see the file comment). */
function superBlockDotKernel(type: KInt8Type, o: Int8KernelOptions): WasmFunction {
  const perSweep = 2;
  const f = new FunctionBuilder();
  const qa = f.param('qa', I32), da = f.param('da', I32), k = f.param('k', I32), m = f.param('m', I32);
  const w = f.param('w', I32), ldw = f.param('ldw', I32), rows = f.param('rows', I32);
  const c = f.param('c', I32), ldc = f.param('ldc', I32), alpha = f.param('alpha', F32), beta = f.param('beta', I32);
  const acc = Array.from({ length: perSweep }, (_, t) => [0, 1, 2, 3].map((r) => f.local(`acc${t}_${r}`, V128)));
  const min = Array.from({ length: perSweep }, (_, t) => f.local(`min${t}`, V128));
  const pa = Array.from({ length: perSweep }, (_, t) => f.local(`pa${t}`, I32));
  const pd = Array.from({ length: perSweep }, (_, t) => f.local(`pd${t}`, I32));
  const pw = [0, 1, 2, 3].map((r) => f.local(`pw${r}`, I32));
  const qw = [0, 1, 2, 3].map((r) => f.local(`qw${r}`, I32));
  const hv = f.local('hv', V128), maskV = f.local('maskV', V128), powV = f.local('powV', V128);
  const tmp = [0, 1, 2, 3].map((r) => f.local(`tr${r}`, V128));
  const i = f.local('i', I32), j = f.local('j', I32), nValid = f.local('nValid', I32), b = f.local('b', I32), crow = f.local('crow', I32);
  const bytes = SUPER_BYTES[type];
  const ctx: Ctx = {
    f, o, qw, pa, pd, acc, min,
    madd: (x, y, z) => (o.fma ? seq(x, y, get(z), f32x4RelaxedMadd) : seq(x, y, f32x4Mul, get(z), f32x4Add)),
    // each half into the top 16 bits of an i32 lane, then f16 → f32 exactly (see matmul-int8-kernels.ts)
    halves: (offset) => seq(v128Zero, set(hv), ...qw.map((q, r) => seq(get(q), get(hv), v128Load16Lane(offset, 2 * r + 1), set(hv))),
      get(hv), i32c(3), i32x4ShrS, get(maskV), v128And, get(powV), f32x4Mul),
    transpose: transposeCode(tmp),
  };
  const hsum = (v: number) => seq(get(v), f32x4ExtractLane(0), get(v), f32x4ExtractLane(1), f32Add, get(v), f32x4ExtractLane(2), f32Add, get(v), f32x4ExtractLane(3), f32Add);
  /** C[row, r] for r < nValid := alpha·(Σacc − min lane r) (+ C). */
  const storeRow = (t: number) => seq(...acc[t]!.map((v, r) => {
    const one = seq(get(crow), hsum(v), get(min[t]!), f32x4ExtractLane(r), f32Sub, get(alpha), f32Mul,
      get(crow), f32Load(4 * r), f32c(0), get(beta), select, f32Add, f32Store(4 * r));
    return r === 0 ? one : seq(i32c(r), get(nValid), i32LtS, ifThen([one]));
  }));
  const sweep = (rowsNow: number): Code => seq(
    ...[...acc.slice(0, rowsNow).flat(), ...min.slice(0, rowsNow)].map((v) => seq(v128Zero, set(v))),
    get(qa), get(i), get(k), i32Mul, i32Add, set(pa[0]!),
    get(da), get(i), get(k), i32c(2), i32ShrU, i32Mul, i32Add, set(pd[0]!),
    ...(rowsNow > 1 ? [seq(get(pa[0]!), get(k), i32Add, set(pa[1]!), get(pd[0]!), get(k), i32c(2), i32ShrU, i32Add, set(pd[1]!))] : []),
    ...qw.map((q, r) => seq(get(pw[r]!), set(q))),
    get(k), i32c(8), i32ShrU, set(b),
    loop(
      SUPER_BLOCK_CODE[type](ctx, rowsNow),
      ...qw.map((q) => incC(q, bytes)), ...pa.slice(0, rowsNow).map((p) => incC(p, SUPER_BLOCK)),
      ...pd.slice(0, rowsNow).map((p) => incC(p, ACT_PER_SUPER * ACT_RECORD_BYTES)),
      dec(b), get(b), brIf(0),
    ),
    get(c), get(i), get(ldc), i32Mul, i32Add, set(crow),
    storeRow(0),
    ...(rowsNow > 1 ? [seq(inc(crow, get(ldc)), storeRow(1))] : []),
  );
  const body = seq(
    get(m), i32c(1), i32LtS, get(k), i32c(SUPER_BLOCK), i32LtS, i32Or, ifThen([ret]),
    i32c(0x8fffe000 | 0), i32x4Splat, set(maskV), f32c(2 ** 112), f32x4Splat, set(powV),
    rowGroupLoop({ rows, j, nValid, w, ldw, pw, i, m, c }, perSweep, sweep),
  );
  return { name: `idot${type}`, fn: f, body };
}

/**
 * The integer-dot decode kernels of Q4_K and Q6_K for the matmul module.
 *
 * @example
 * const functions = [...int8Kernels(options), ...superBlockInt8Kernels(options)];
 */
export function superBlockInt8Kernels(options: Int8KernelOptions): WasmFunction[] {
  return K_INT8_TYPES.map((t) => superBlockDotKernel(t, options));
}
