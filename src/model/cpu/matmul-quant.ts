/**
 * Matrix products with a quantised right operand W (ggml blocks, `ggml-quants.ts`), driving the
 * kernels of `matmul-quant-kernels.ts` over byte offsets of the shared heap. Two paths:
 *
 * - **decode** (`nt`, few rows of A: C = A·Wᵀ, W stored [n, k] as a GGUF [out, in] weight): W is
 *   streamed once per call. Every type takes the integer path (`matmul-int8-kernels.ts`, and
 *   `matmul-int8-k-kernels.ts` for Q4_K/Q6_K, as llama.cpp does): the rows of A are quantised to
 *   8-bit blocks of 32 into the scratch, then each weight (sub-)block is an integer dot product with
 *   each activation block, scaled once per block. When the quantised rows of A do not fit the scratch: for each
 *   group of 4 rows of W and each chunk of `DECODE_KC` elements of k, the blocks are dequantised
 *   into a small f32 scratch (L1) and dotted with every row of A in f32.
 *
 *   **Numerics of the integer path.** Each activation x is replaced by d·q, d = max|x|/127 over its
 *   block of 32 and q = round(x/d), so |x − d·q| ≤ d/2 (up to a few f32 ulps of d·127 from
 *   computing x·(127/max)); the weights and the integer sums are exact; so each output differs from
 *   the product of A with the dequantised W by at most |alpha|·Σ_j |w_j|·d_(block of j)/2, plus f32
 *   rounding of the per-block accumulation. Relative to the output's scale Σ|a·w| this is about
 *   1/254 of the ratio max|x|/|x| within a block, at worst; llama.cpp makes the same rounding.
 *   (Exception, see `matmul-int8-kernels.ts`: with relaxed SIMD a Q8_0 weight of −128, which
 *   ggml's quantiser never writes, counts as 127 against a negative activation.)
 *   Non-finite activations give a non-finite scale, hence non-finite outputs (NaN may be lost by
 *   the maximum, as the pseudo-maximum keeps its first operand).
 * - **panels** (everything else: prefill, training's `nn` backward dX = dY·W): each kc×nc block of
 *   B = op(W) that the f32 GEMM would pack is dequantised into a scratch block and packed from there,
 *   and the f32 micro-kernel runs unchanged (`GemmEngine.gemm`), so the dequantisation is amortised
 *   over all rows of A.
 */
import { QUANT_FORMATS } from '../ggml-quants.ts';
import type { QuantType } from '../ggml-quants.ts';
import { DECODE_KC } from './matmul-quant-kernels.ts';
import { ACT_BLOCK, ACT_RECORD_BYTES, INT8_SUM_SCALE, INT8_TYPES } from './matmul-int8-kernels.ts';
import type { Int8Type } from './matmul-int8-kernels.ts';

/** Quantised types as numbers (for the pool's shared job descriptor); 0 is f32. */
export const QUANT_CODES: Readonly<Record<QuantType, number>> = { Q8_0: 1, Q4_0: 2, Q4_K: 3, Q6_K: 4 };
const TYPE_OF_CODE: readonly (QuantType | undefined)[] = [undefined, 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/**
 * Q6_K takes the integer path up to this many rows of A: its kernel does twice Q4_K's work per
 * block, and from 6 rows on the dequantise-and-dot path is as fast (1536×768, one thread:
 * m = 1 18.2 vs 8.0 GFLOP/s, m = 4 28.2 vs 23.4, m = 6 28.2 vs 28.5, m = 16 28.4 vs 36.5).
 */
export const Q6_K_INTEGER_MAX_ROWS = 5;

/** Products (`nt` only) of at most this many rows of A take the decode path. */
export const DECODE_MAX_ROWS = 16;

/** f32 products (`nt`) of at most this many rows of A, with k up to {@link F32_DECODE_MAX_K}, take the f32 decode path (measured: docs/decisions/0026). */
export const F32_DECODE_MAX_ROWS = 32;
/** f32 decode products of this many rows of A take W eight rows at a time (`dot8`; with two rows `dot4` measured faster). */
export const F32_DECODE_STREAM_ROWS = 1;
/** The narrowest k the f32 decode path takes: below it (a LoRA B, k = rank) a call's few steps cost less than its per-4-rows loop, so the GEMM does them. */
export const F32_DECODE_MIN_K = 64;
/** The widest k the f32 decode path takes (its tail of < 4 rows of W fits the scratch). */
export const F32_DECODE_MAX_K = 16384;

/**
 * Floats of scratch the quantised paths need for a GEMM blocking (kc, nc): a dequantised kc×nc
 * block of B, widened by up to one super-block on each side when a column range starts or ends
 * inside a block (`nn`/`tn` split by columns).
 *
 * @example
 * quantScratchFloats({ kc: 256, nc: 1024 }); // 393216
 */
export function quantScratchFloats(blocking: { kc: number; nc: number }): number {
  const widest = 256;
  return Math.max(blocking.nc * blocking.kc, blocking.kc * (blocking.nc + 2 * widest), 4 * DECODE_KC, 4 * F32_DECODE_MAX_K);
}

/** Bytes the integer decode path needs for m rows of A of k elements (int8 values, then 8-byte block records at a 64-byte boundary). */
export function int8ScratchBytes(m: number, k: number): number {
  return Math.ceil((m * k) / 64) * 64 + (m * k / ACT_BLOCK) * ACT_RECORD_BYTES;
}

type Quantize = (src: number, lda: number, rows: number, k: number, q: number, d: number, sumScale: number) => void;
type IntDot = (qa: number, da: number, k: number, m: number, w: number, ldw: number, rows: number, c: number, ldc: number, alpha: number, beta: number) => void;
type Dequant = (dst: number, dstStride: number, src: number, srcStride: number, rows: number, blocks: number) => void;
type Dot = (a: number, lda: number, w: number, kc: number, m: number, c: number, ldc: number, alpha: number, beta: number, nValid: number, ldw: number) => void;
/** The f32 B packer of the GEMM module (`pack8`). */
export type PackB = (dst: number, src: number, count: number, kc: number, es: number, ps: number) => void;

/** A quantised type code that is not one of {@link QUANT_CODES}. */
export class QuantCodeError extends Error {
  override name = 'QuantCodeError';
}

/**
 * The quantised paths of one thread's engine: its exports of the kernel module and a scratch
 * block of `scratchBytes` (at least {@link quantScratchFloats} floats) at byte `scratch`.
 *
 * @example
 * const q = new QuantMatmul(instance.exports, scratchOffset, 4 * quantScratchFloats(BLOCKING));
 * q.decode(c, a, w, QUANT_CODES.Q4_K, 1, 1536, 576, false, 1, 0, 1, 0, 576);
 */
export class QuantMatmul {
  private readonly dequant: Dequant[];
  private readonly dot: Dot;
  private readonly dot8: Dot;
  private readonly loraAxpy: (y: number, u: number, bt: number, r: number, out: number) => void;
  private readonly quantize: Quantize;
  private readonly intDot: (IntDot | undefined)[];
  private readonly scratch: number;
  private readonly scratchBytes: number;

  constructor(exports: Record<string, unknown>, scratch: number, scratchBytes: number) {
    this.dequant = TYPE_OF_CODE.map((t) => (t ? (exports[`dq${t}`] as Dequant) : (() => { throw new QuantCodeError('type code 0 is f32'); })));
    this.dot = exports.dot4 as Dot;
    this.dot8 = exports.dot8 as Dot;
    this.loraAxpy = exports.loraAxpy as QuantMatmul['loraAxpy'];
    this.quantize = exports.qa8 as Quantize;
    this.intDot = TYPE_OF_CODE.map((t) => (t && (INT8_TYPES as readonly string[]).includes(t) ? (exports[`idot${t}`] as IntDot) : undefined));
    this.scratch = scratch;
    this.scratchBytes = scratchBytes;
  }

  /** Whether a decode product of m rows takes the integer path (decided on the whole m, so not on how the pool splits it). */
  usesIntegerPath(code: number, m: number, k: number): boolean {
    if (code === QUANT_CODES.Q6_K && m > Q6_K_INTEGER_MAX_ROWS) return false;
    return this.intDot[code] !== undefined && k % ACT_BLOCK === 0 && int8ScratchBytes(m, k) <= this.scratchBytes;
  }

  private format(code: number): { type: QuantType; block: number; bytes: number } {
    const type = TYPE_OF_CODE[code];
    if (!type) throw new QuantCodeError(`unknown quantised type code ${code}`);
    return { type, ...QUANT_FORMATS[type] };
  }

  /**
   * Rows [r0, r1) and columns [c0, c1) of `C[m×n] (+)= alpha · A[m×k] · Wᵀ`, W [n, k] quantised
   * with type `code` at byte `w` (k a multiple of its block), streaming W's blocks once: the
   * integer path where {@link usesIntegerPath} (rows of A rounded to 8 bits: see the file comment),
   * else dequantised chunks dotted in f32.
   */
  decode(c: number, a: number, w: number, code: number, m: number, k: number, n: number, accumulate: boolean, alpha: number,
    r0: number, r1: number, c0: number, c1: number): void {
    const { block, bytes } = this.format(code);
    const rowBytes = (k / block) * bytes, lda = 4 * k, ldc = 4 * n;
    if (this.usesIntegerPath(code, m, k)) {
      const rows = r1 - r0, qa = this.scratch, da = qa + Math.ceil((rows * k) / 64) * 64;
      this.quantize(a + r0 * lda, lda, rows, k, qa, da, INT8_SUM_SCALE[TYPE_OF_CODE[code] as Int8Type]);
      this.intDot[code]!(qa, da, k, rows, w + c0 * rowBytes, rowBytes, c1 - c0, c + r0 * ldc + 4 * c0, ldc, alpha, accumulate ? 1 : 0);
      return;
    }
    const dq = this.dequant[code]!, s = this.scratch;
    const aRows = a + r0 * lda, cRows = c + r0 * ldc, rows = r1 - r0;
    for (let j = c0; j < c1; j += 4) {
      const rw = Math.min(4, c1 - j);
      for (let pc = 0; pc < k; pc += DECODE_KC) {
        const kc = Math.min(DECODE_KC, k - pc);
        dq(s, 4 * DECODE_KC, w + j * rowBytes + (pc / block) * bytes, rowBytes, rw, kc / block);
        this.dot(aRows + 4 * pc, lda, s, kc, rows, cRows + 4 * j, ldc, alpha, accumulate || pc > 0 ? 1 : 0, rw, 4 * DECODE_KC);
      }
    }
  }

  /**
   * One row's LoRA update, y[0..out) += scale·Bᵀᵀ·(A·x) with A [r, in] and Bᵀ [r, out] at bytes
   * `a`, `bt` (x [in] at `x`, y at `y`, r floats of scratch at `u`): A streamed through the dot
   * kernel, then Bᵀ's rows added four columns at a time. `inDim` and `outDim` multiples of 4.
   */
  loraRow(y: number, x: number, a: number, bt: number, inDim: number, outDim: number, r: number, scale: number, u: number, heap: Float32Array): void {
    this.decodeF32(u, x, a, inDim, r, false, scale, 0, 1, 0, r, heap);
    this.loraAxpy(y, u, bt, r, outDim);
  }

  /**
   * The same decode for an f32 W [n, k] at byte `w`: its rows are dotted where they lie (no
   * packing: W is read once, which is all a product of a few rows costs), the last group of fewer
   * than 4 rows copied to the scratch first so no row past W is read.
   */
  decodeF32(c: number, a: number, w: number, k: number, n: number, accumulate: boolean, alpha: number,
    r0: number, r1: number, c0: number, c1: number, heap: Float32Array): void {
    const lda = 4 * k, ldc = 4 * n, ldw = 4 * k;
    const aRows = a + r0 * lda, cRows = c + r0 * ldc, m = r1 - r0, beta = accumulate ? 1 : 0;
    let j = c0;
    // one row of A only streams W: eight rows of W at a time keep more loads in flight
    if (m <= F32_DECODE_STREAM_ROWS) for (; j + 8 <= c1; j += 8) this.dot8(aRows, lda, w + j * ldw, k, m, cRows + 4 * j, ldc, alpha, beta, 8, ldw);
    for (; j + 4 <= c1; j += 4) this.dot(aRows, lda, w + j * ldw, k, m, cRows + 4 * j, ldc, alpha, beta, 4, ldw);
    if (j < c1) {
      const rw = c1 - j, s = this.scratch;
      heap.copyWithin(s / 4, (w + j * ldw) / 4, (w + c1 * ldw) / 4);
      heap.fill(0, s / 4 + rw * k, s / 4 + 4 * k);
      this.dot(aRows, lda, s, k, m, cRows + 4 * j, ldc, alpha, beta, rw, ldw);
    }
  }

  /**
   * Packs the kc×nc block at (pc, jc) of B = op(W) the way the GEMM's `pack8` packs an f32 B, into
   * `dst`: for `nt` (B = Wᵀ, W [n, k]) or `nn`/`tn` (B = W, W [k, n]), W quantised with `code` at byte `w`.
   */
  packB(pack: PackB, dst: number, w: number, code: number, transposed: boolean, k: number, n: number,
    jc: number, nc: number, pc: number, kc: number): void {
    const { block, bytes } = this.format(code);
    const dq = this.dequant[code]!, s = this.scratch;
    // the dequantised range of W's rows: whole blocks covering [start, start + len)
    const [start, len] = transposed ? [pc, kc] : [jc, nc];
    const b0 = Math.floor(start / block), b1 = Math.ceil((start + len) / block);
    const width = (b1 - b0) * block, skip = 4 * (start - b0 * block);
    if (transposed) {
      const rowBytes = (k / block) * bytes;
      dq(s, 4 * width, w + jc * rowBytes + b0 * bytes, rowBytes, nc, b1 - b0);
      pack(dst, s + skip, nc, kc, 4 * width, 4);
    } else {
      const rowBytes = (n / block) * bytes;
      dq(s, 4 * width, w + pc * rowBytes + b0 * bytes, rowBytes, kc, b1 - b0);
      pack(dst, s + skip, nc, kc, 4, 4 * width);
    }
  }
}
