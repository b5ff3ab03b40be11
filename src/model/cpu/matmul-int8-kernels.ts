/**
 * Generates the integer-dot decode kernels (part of the matmul module, `matmul-wasm-kernels.ts`),
 * llama.cpp's way of multiplying few rows of activations by Q8_0 / Q4_0 weights: each row of A is
 * quantised once per product to 8-bit blocks of 32 (a scale max|x|/127 and 32 int8, rounded to
 * nearest), then every weight block meets every activation block as an integer dot product, scaled
 * once per block.
 *
 * - `qa8(src, lda, rows, k, q, d, sumScale)`: quantises `rows` f32 rows of k (k a multiple of 32;
 *   rows `lda` bytes apart at `src`) to int8 rows of k bytes at `q` and, per block, an 8-byte record
 *   at `d` (rows k/4 bytes apart): the f32 scale, then `sumScale`·Σq as an i32 (Q4_0 takes −8·Σq:
 *   its weights are nibbles − 8, so Σ(nib − 8)·a = Σ nib·a − 8·Σa).
 * - `idot{type}(qa, da, k, m, w, ldw, rows, c, ldc, alpha, beta)`: C[i, r] = alpha·Σ_blocks
 *   d_w·d_a·(Σ q_w·q_a) (+ C when beta) for the m quantised rows of A at qa/da and `rows` rows of W
 *   (`ldw` bytes apart at w), C rows `ldc` bytes apart at c. Four rows of W at a time (the last
 *   group's missing rows alias its last row and are not stored), `rowsPerSweep` rows of A per
 *   sweep over k. Per block: the four f16 scales of W gathered into one vector (`v128.load16_lane`
 *   puts each half in the top of an i32 lane; an arithmetic shift by 3, a mask and × 2¹¹² make it
 *   the f32, exact for normal and subnormal halves), times each row of A's scale; then the integer
 *   dot, one conversion to f32 and a multiply-add by the block's scale into an f32x4 accumulator.
 *   With relaxed SIMD the dot is `i32x4.relaxed_dot_i8x16_i7x16_add_s` (x64: pmaddubsw), whose
 *   second operand must be in 0–127: Q4_0 passes its nibbles (0–15) as they are, with the −8·Σq
 *   record as the addend; Q8_0 passes |q_a| (≤ 127 by construction) and moves the activation's
 *   sign to the weight, (w ^ s) − s with s = q_a < 0 ? −1 : 0 (llama.cpp's x86 sign trick), the
 *   subtraction saturating so that a weight of −128 (never written by ggml's quantiser, whose
 *   |q| ≤ 127, but valid in a file) against a negative activation counts as 127, not 128: that one
 *   product is then off by |q_a|·d_w·d_a. |q_a| and the sign masks are computed once per block and
 *   row of A in the sweep (into locals, shared by the four rows of W), so each pair costs only the
 *   xor, the subtraction and the dots. Without relaxed SIMD: `i32x4.dot_i16x8_s` on
 *   sign-extended bytes (Q4_0: nibbles − 8 first). Measured on the 2-core VM (one thread, m = 1):
 *   the relaxed dot takes Q4_0 from 22 to 46–48 GFLOP/s and the sign trick Q8_0 from 29–30 to
 *   37–39 (m = 16: 35–37 → 41–46), and computing |q_a| and the signs once per block instead of
 *   per pair takes it on to 48–56 (m = 16: 40–46 → 60–62).
 *
 * Integer sums are exact (|Σ q_w·q_a| ≤ 32·128·127 < 2²⁴, also exact as f32) in both dot
 * variants, but they spread a block's sum over the four lanes differently, so the f32 results of a
 * module with and without relaxed SIMD can differ in the last bits (one module serves all threads).
 */
import {
  F32, FunctionBuilder, I32, V128, block, br, brIf, f32Add, f32Div, f32Gt, f32Load, f32Mul, f32Store, f32c, f32x4Abs, f32x4Add,
  f32x4ConvertI32x4S, f32x4ExtractLane, f32x4Mul, f32x4Nearest, f32x4Pmax, f32x4RelaxedMadd, f32x4Splat, get, i16x8Add,
  i16x8ExtendHighI8x16S, i16x8ExtendLowI8x16S, i16x8NarrowI32x4S, i32Add, i32LtS, i32Mul, i32Or, i32ShrU, i32Store, i32Sub, i32c,
  i32x4Add, i32x4DotI16x8S, i32x4ExtaddPairwiseI16x8S, i32x4ExtractLane, i32x4RelaxedDotI8x16I7x16AddS, i32x4ShrS, i32x4Splat,
  i32x4TruncSatF32x4S, i8x16Abs, i8x16LtS, i8x16NarrowI16x8S, i8x16ShrU, i8x16Splat, i8x16Sub, i8x16SubSatS, ifThen, loop, ret, select, seq, set, shuffle32, v128And,
  v128Load, v128Load16Lane, v128Load32Splat, v128Load32Zero, v128Load8x8S, v128Store, v128Xor, v128Zero,
} from './wasm-emit.ts';
import type { Code, WasmFunction } from './wasm-emit.ts';

/** Elements per activation block: the block of Q8_0 and Q4_0. */
export const ACT_BLOCK = 32;
/** Bytes of an activation block's record (f32 scale, i32 scaled sum). */
export const ACT_RECORD_BYTES = 8;

/** The weight types with integer-dot kernels (Q4_K and Q6_K in `matmul-int8-k-kernels.ts`). */
export type Int8Type = 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';
export const INT8_TYPES: readonly Int8Type[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];
/** The block-of-32 types, whose kernels this file generates. */
type Block32Type = 'Q8_0' | 'Q4_0';
const BLOCK32_TYPES: readonly Block32Type[] = ['Q8_0', 'Q4_0'];
/** What `qa8`'s `sumScale` must be for each type's kernel (Q4_K needs Σq for its mins; Q6_K does without). */
export const INT8_SUM_SCALE: Readonly<Record<Int8Type, number>> = { Q8_0: 0, Q4_0: -8, Q4_K: 1, Q6_K: 0 };

/** Options of the generated code. */
export interface Int8KernelOptions {
  /** Relaxed SIMD fused multiply-add for the per-block scaling. */
  fma: boolean;
  /** Relaxed SIMD's i8×i7 dot product (Q4_0's nibbles; Q8_0 with the sign moved to the weights). */
  relaxedDot: boolean;
  /** Rows of A per sweep over k (default 2). */
  rowsPerSweep?: 1 | 2;
}

const inc = (local: number, by: Code): Code => seq(get(local), by, i32Add, set(local));
const incC = (local: number, by: number): Code => inc(local, i32c(by));
const dec = (local: number): Code => seq(get(local), i32c(1), i32Sub, set(local));

/** `qa8(src, lda, rows, k, q, d, sumScale)` (see the file comment). */
function quantizeKernel(): WasmFunction {
  const f = new FunctionBuilder();
  const src = f.param('src', I32), lda = f.param('lda', I32), rows = f.param('rows', I32), k = f.param('k', I32);
  const q = f.param('q', I32), d = f.param('d', I32), sumScale = f.param('sumScale', I32);
  const ps = f.local('ps', I32), r = f.local('r', I32), b = f.local('b', I32);
  const x = Array.from({ length: 8 }, (_, j) => f.local(`x${j}`, V128));
  const h = Array.from({ length: 4 }, (_, j) => f.local(`h${j}`, V128));
  const mx = f.local('mx', V128), idv = f.local('idv', V128), sv = f.local('sv', V128), amax = f.local('amax', F32);
  const absMax = (i: number, j: number) => seq(get(x[i]!), f32x4Abs, get(x[j]!), f32x4Abs, f32x4Pmax);
  const foldMax = (lanes: [number, number, number, number]) => seq(get(mx), get(mx), get(mx), shuffle32(lanes), f32x4Pmax, set(mx));
  const foldSum = (lanes: [number, number, number, number]) => seq(get(sv), get(sv), get(sv), shuffle32(lanes), i32x4Add, set(sv));
  const scaled = (j: number) => seq(get(x[j]!), get(idv), f32x4Mul, f32x4Nearest, i32x4TruncSatF32x4S);
  const blockCode = seq(
    ...x.map((v, j) => seq(get(ps), v128Load(16 * j), set(v))),
    absMax(0, 1), absMax(2, 3), f32x4Pmax, absMax(4, 5), absMax(6, 7), f32x4Pmax, f32x4Pmax, set(mx),
    foldMax([2, 3, 0, 1]), foldMax([1, 0, 3, 2]),
    get(mx), f32x4ExtractLane(0), set(amax),
    get(d), get(amax), f32c(127), f32Div, f32Store(0),
    f32c(127), get(amax), f32Div, f32c(0), get(amax), f32c(0), f32Gt, select, f32x4Splat, set(idv),
    ...h.map((v, j) => seq(scaled(2 * j), scaled(2 * j + 1), i16x8NarrowI32x4S, set(v))),
    get(q), get(h[0]!), get(h[1]!), i8x16NarrowI16x8S, v128Store(0),
    get(q), get(h[2]!), get(h[3]!), i8x16NarrowI16x8S, v128Store(16),
    get(h[0]!), get(h[1]!), i16x8Add, get(h[2]!), get(h[3]!), i16x8Add, i16x8Add, i32x4ExtaddPairwiseI16x8S, set(sv),
    foldSum([2, 3, 0, 1]), foldSum([1, 0, 3, 2]),
    get(d), get(sv), i32x4ExtractLane(0), get(sumScale), i32Mul, i32Store(4),
  );
  const body = seq(
    get(rows), i32c(1), i32LtS, get(k), i32c(ACT_BLOCK), i32LtS, i32Or, ifThen([ret]),
    get(rows), set(r),
    loop(
      get(src), set(ps), get(k), i32c(5), i32ShrU, set(b),
      loop(blockCode, incC(ps, 4 * ACT_BLOCK), incC(q, ACT_BLOCK), incC(d, ACT_RECORD_BYTES), dec(b), get(b), brIf(0)),
      inc(src, get(lda)), dec(r), get(r), brIf(0),
    ),
  );
  return { name: 'qa8', fn: f, body };
}

const BLOCK_BYTES: Record<Block32Type, number> = { Q8_0: 34, Q4_0: 18 };

/** `idot{type}(qa, da, k, m, w, ldw, rows, c, ldc, alpha, beta)` (see the file comment). */
function intDotKernel(type: Block32Type, o: Int8KernelOptions): WasmFunction {
  const perSweep = o.rowsPerSweep ?? 2;
  const nibbleDot = type === 'Q4_0' && o.relaxedDot, signDot = type === 'Q8_0' && o.relaxedDot;
  const f = new FunctionBuilder();
  const qa = f.param('qa', I32), da = f.param('da', I32), k = f.param('k', I32), m = f.param('m', I32);
  const w = f.param('w', I32), ldw = f.param('ldw', I32), rows = f.param('rows', I32);
  const c = f.param('c', I32), ldc = f.param('ldc', I32), alpha = f.param('alpha', F32), beta = f.param('beta', I32);
  const acc = Array.from({ length: perSweep }, (_, t) => [0, 1, 2, 3].map((r) => f.local(`acc${t}_${r}`, V128)));
  const st = Array.from({ length: perSweep }, (_, t) => f.local(`st${t}`, V128));
  const wv = [0, 1, 2, 3].map((u) => f.local(`w${u}`, V128));
  const sw = f.local('sw', V128), maskV = f.local('maskV', V128), powV = f.local('powV', V128), raw = f.local('raw', V128);
  // Q8_0 with the sign trick: A row t's |q_a| and sign masks of the current block, per half
  const absA = signDot ? Array.from({ length: perSweep }, (_, t) => [0, 1].map((u) => f.local(`absA${t}_${u}`, V128))) : [];
  const sgnA = signDot ? Array.from({ length: perSweep }, (_, t) => [0, 1].map((u) => f.local(`sgnA${t}_${u}`, V128))) : [];
  const pa = Array.from({ length: perSweep }, (_, t) => f.local(`pa${t}`, I32));
  const pd = Array.from({ length: perSweep }, (_, t) => f.local(`pd${t}`, I32));
  const pw = [0, 1, 2, 3].map((r) => f.local(`pw${r}`, I32));
  const qw = [0, 1, 2, 3].map((r) => f.local(`qw${r}`, I32));
  const i = f.local('i', I32), j = f.local('j', I32), nValid = f.local('nValid', I32), b = f.local('b', I32), crow = f.local('crow', I32);
  const bytes = BLOCK_BYTES[type];

  const madd = (x: Code, y: Code, z: number) => (o.fma ? seq(x, y, get(z), f32x4RelaxedMadd) : seq(x, y, f32x4Mul, get(z), f32x4Add));
  const hsum = (v: number) => seq(get(v), f32x4ExtractLane(0), get(v), f32x4ExtractLane(1), f32Add, get(v), f32x4ExtractLane(2), f32Add, get(v), f32x4ExtractLane(3), f32Add);
  /** C[row, r] for r < nValid := alpha·Σacc (+ C). */
  const storeRow = (rowAcc: number[]) => seq(...rowAcc.map((v, r) => {
    const one = seq(get(crow), hsum(v), get(alpha), f32Mul, get(crow), f32Load(4 * r), f32c(0), get(beta), select, f32Add, f32Store(4 * r));
    return r === 0 ? one : seq(i32c(r), get(nValid), i32LtS, ifThen([one]));
  }));
  /**
   * Loads W row r's block: its 32 bytes in wv[0], wv[1] (Q8_0 with the sign trick); its nibbles,
   * low and high, in wv[0], wv[1] (Q4_0 with the nibble dot); else four i16x8 in wv (elements 0–7,
   * 8–15, 16–23, 24–31).
   */
  const loadWeights = (r: number): Code => {
    if (signDot) return seq(get(qw[r]!), v128Load(2), set(wv[0]!), get(qw[r]!), v128Load(18), set(wv[1]!));
    if (type === 'Q8_0') return seq(...wv.map((v, u) => seq(get(qw[r]!), v128Load8x8S(2 + 8 * u), set(v))));
    const lo = seq(get(raw), i32c(0x0f), i8x16Splat, v128And), hi = seq(get(raw), i32c(4), i8x16ShrU);
    if (nibbleDot) return seq(get(qw[r]!), v128Load(2), set(raw), hi, set(wv[1]!), lo, set(wv[0]!));
    const minus8 = seq(i32c(8), i8x16Splat, i8x16Sub);
    return seq(
      get(qw[r]!), v128Load(2), set(raw),
      hi, minus8, set(wv[3]!), lo, minus8, set(wv[1]!),
      get(wv[1]!), i16x8ExtendLowI8x16S, set(wv[0]!), get(wv[1]!), i16x8ExtendHighI8x16S, set(wv[1]!),
      get(wv[3]!), i16x8ExtendLowI8x16S, set(wv[2]!), get(wv[3]!), i16x8ExtendHighI8x16S, set(wv[3]!),
    );
  };
  /** Pushes the i32x4 partial sums of the loaded W block · A row t's block. */
  const blockDot = (t: number): Code => {
    if (nibbleDot) {
      return seq(get(pa[t]!), v128Load(0), get(wv[0]!), get(pa[t]!), v128Load(16), get(wv[1]!), get(pd[t]!), v128Load32Zero(4),
        i32x4RelaxedDotI8x16I7x16AddS, i32x4RelaxedDotI8x16I7x16AddS);
    }
    if (signDot) {
      // w·a = (w·sign a)·|a|, |a| ≤ 127 the 7-bit operand; w·sign a = (w ^ s) − s with s = a < 0 ? −1 : 0, saturating (see the file comment)
      const half = (u: number) => seq(get(wv[u]!), get(sgnA[t]![u]!), v128Xor, get(sgnA[t]![u]!), i8x16SubSatS, get(absA[t]![u]!));
      return seq(half(0), half(1), v128Zero, i32x4RelaxedDotI8x16I7x16AddS, i32x4RelaxedDotI8x16I7x16AddS);
    }
    const part = (u: number) => seq(get(wv[u]!), get(pa[t]!), v128Load8x8S(8 * u), i32x4DotI16x8S);
    return seq(part(0), part(1), i32x4Add, part(2), part(3), i32x4Add, i32x4Add);
  };
  const sweep = (rowsNow: number): Code => {
    const step: Code[] = [
      // the four rows' f16 scales: each half into the top 16 bits of an i32 lane, then to f32
      ...qw.map((q, r) => seq(get(q), get(sw), v128Load16Lane(0, 2 * r + 1), set(sw))),
      get(sw), i32c(3), i32x4ShrS, get(maskV), v128And, get(powV), f32x4Mul, set(sw),
      ...st.slice(0, rowsNow).map((s, t) => seq(get(pd[t]!), v128Load32Splat(0), get(sw), f32x4Mul, set(s))),
      // once per block and row of A, not per row of W
      ...(signDot ? absA.slice(0, rowsNow).flatMap((halves, t) => halves.map((v, u) => seq(
        get(pa[t]!), v128Load(16 * u), set(raw), get(raw), v128Zero, i8x16LtS, set(sgnA[t]![u]!), get(raw), i8x16Abs, set(v)))) : []),
    ];
    for (let r = 0; r < 4; r++) {
      step.push(loadWeights(r));
      for (let t = 0; t < rowsNow; t++) {
        step.push(madd(seq(blockDot(t), f32x4ConvertI32x4S), seq(get(st[t]!), get(st[t]!), shuffle32([r, r, r, r])), acc[t]![r]!), set(acc[t]![r]!));
      }
    }
    return seq(
      ...acc.slice(0, rowsNow).flat().map((v) => seq(v128Zero, set(v))),
      get(qa), get(i), get(k), i32Mul, i32Add, set(pa[0]!),
      get(da), get(i), get(k), i32c(2), i32ShrU, i32Mul, i32Add, set(pd[0]!),
      ...(rowsNow > 1 ? [seq(get(pa[0]!), get(k), i32Add, set(pa[1]!), get(pd[0]!), get(k), i32c(2), i32ShrU, i32Add, set(pd[1]!))] : []),
      ...qw.map((q, r) => seq(get(pw[r]!), set(q))),
      get(k), i32c(5), i32ShrU, set(b),
      loop(
        ...step,
        ...qw.map((q) => incC(q, bytes)), ...pa.slice(0, rowsNow).map((p) => incC(p, ACT_BLOCK)),
        ...pd.slice(0, rowsNow).map((p) => incC(p, ACT_RECORD_BYTES)),
        dec(b), get(b), brIf(0),
      ),
      get(c), get(i), get(ldc), i32Mul, i32Add, set(crow),
      storeRow(acc[0]!),
      ...(rowsNow > 1 ? [seq(inc(crow, get(ldc)), storeRow(acc[1]!))] : []),
    );
  };
  const body = seq(
    get(m), i32c(1), i32LtS, get(k), i32c(ACT_BLOCK), i32LtS, i32Or, ifThen([ret]),
    i32c(0x8fffe000 | 0), i32x4Splat, set(maskV), f32c(2 ** 112), f32x4Splat, set(powV), v128Zero, set(sw),
    rowGroupLoop({ rows, j, nValid, w, ldw, pw, i, m, c }, perSweep, sweep),
  );
  return { name: `idot${type}`, fn: f, body };
}

/** The locals {@link rowGroupLoop} walks (indices of the kernel's params and locals). */
export interface RowGroupLocals {
  /** W's rows in this call, the next group's first row, and how many of the group's four are real. */
  rows: number;
  j: number;
  nValid: number;
  /** W's first row (advanced by each group) and its row stride in bytes; the group's four row pointers. */
  w: number;
  ldw: number;
  pw: readonly number[];
  /** A's next row and its rows; C's first column (advanced by each group). */
  i: number;
  m: number;
  c: number;
}

/**
 * The loop every integer-dot kernel runs: W's rows in groups of four (the pointers of rows past
 * the last alias it: computed, never stored), each group swept over A's rows `perSweep` at a time
 * and then one at a time, then `w` and `c` moved on by four rows and columns.
 */
export function rowGroupLoop(l: RowGroupLocals, perSweep: number, sweep: (rowsNow: number) => Code): Code {
  const lastRow = seq(get(l.nValid), i32c(1), i32Sub);
  return seq(
    i32c(0), set(l.j),
    block(loop(
      get(l.rows), get(l.j), i32Sub, set(l.nValid),
      get(l.nValid), i32c(1), i32LtS, brIf(1),
      get(l.nValid), i32c(4), get(l.nValid), i32c(4), i32LtS, select, set(l.nValid),
      ...l.pw.map((p, r) => seq(get(l.w), get(l.ldw), i32c(r), lastRow, i32c(r), get(l.nValid), i32LtS, select, i32Mul, i32Add, set(p))),
      i32c(0), set(l.i),
      block(loop(
        get(l.m), get(l.i), i32Sub, i32c(perSweep), i32LtS, brIf(1),
        sweep(perSweep), incC(l.i, perSweep), br(0),
      )),
      ...(perSweep > 1 ? [seq(get(l.i), get(l.m), i32LtS, ifThen([sweep(1)]))] : []),
      get(l.w), get(l.ldw), i32c(4), i32Mul, i32Add, set(l.w),
      incC(l.c, 16), incC(l.j, 4), br(0),
    )),
  );
}

/**
 * `qa8` and the integer-dot decode kernels of Q8_0 and Q4_0 for the matmul module.
 *
 * @example
 * const functions = [...f32Kernels, ...int8Kernels({ fma: true, relaxedDot: true })];
 */
export function int8Kernels(options: Int8KernelOptions): WasmFunction[] {
  return [quantizeKernel(), ...BLOCK32_TYPES.map((t) => intDotKernel(t, options))];
}
