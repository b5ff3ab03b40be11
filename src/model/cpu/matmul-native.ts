/**
 * The optional native kernels (`native/kernels.c`, a Node-API addon built for this machine's CPU
 * by `npm run build:kernels`, which `npm start` and `npm test` run first). They take the same byte
 * offsets of the shared heap as the WebAssembly kernels and compute the same products (the f32
 * GEMM in every layout, the decode products against f32, Q8_0 and Q4_0 weights, a row's LoRA
 * update, the gated MLP's activation) with the CPU's own vector width. Where the addon was not built (no C compiler) or
 * `OPENLEDGER_KERNELS=wasm`, the engine runs the WebAssembly kernels alone.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where `scripts/build-kernels.ts` writes the addon. */
export const NATIVE_KERNELS_PATH = fileURLToPath(new URL('../../../build/kernels/openledger-kernels.node', import.meta.url));

/** The addon's functions; every offset is a byte offset into `heap` (checked there: a RangeError names what lies outside). */
export interface NativeKernels {
  /** `C[m×n] (+)= alpha·op(A)·op(B)`, f32, rows [r0, r1) and columns [c0, c1) (layout 0 nn, 1 nt, 2 tn). */
  gemm(heap: Uint8Array, c: number, a: number, b: number, m: number, k: number, n: number, layout: number,
    accumulate: number, alpha: number, r0: number, r1: number, c0: number, c1: number): void;
  /** `C (+)= alpha·A·Wᵀ`, W [n, k] in ggml blocks of `type` (1 Q8_0, 2 Q4_0), A's rows rounded to 8 bits. */
  decodeQuant(heap: Uint8Array, c: number, a: number, w: number, type: number, m: number, k: number, n: number,
    accumulate: number, alpha: number, r0: number, r1: number, c0: number, c1: number): void;
  /**
   * Each of n rows its own adapter in one call: `table` holds [A's offset, Bᵀ's offset, rank, scale]
   * per row (A = −1: none), A [r, in] and Bᵀ [r, out] in half precision; every row is checked before
   * any is written.
   */
  loraRows(heap: Uint8Array, y: number, x: number, n: number, inDim: number, outDim: number, table: Float64Array): void;
  /**
   * A hint: the factors of a coming `loraRows` with this table (checked as it checks it) become this
   * thread's prefetch plan, pulled into cache by the decode kernels while they compute; `loraRows`
   * ends the plan. Changes no result.
   */
  loraPrefetch(heap: Uint8Array, n: number, inDim: number, outDim: number, table: Float64Array): void;
  /** `out[0..n) = act(gate)·up`, act(x) = x·sigmoid(k·(x + c·x³)) (SiLU: k = 1, c = 0; tanh-GELU). */
  gated(heap: Uint8Array, out: number, gate: number, up: number, n: number, k: number, c: number): void;
  /** The backward of {@link gated}: dUp = dOut·act(gate), dGate = dOut·up·act′(gate). */
  gatedBackward(heap: Uint8Array, dGate: number, dUp: number, dOut: number, gate: number, up: number, n: number, k: number, c: number): void;
  /** Flash attention (flash-attention.ts's `flashAttention`): out, lse from q, k, v of B sequences of S rows. */
  attention(heap: Uint8Array, out: number, lse: number, q: number, k: number, v: number,
    B: number, S: number, nH: number, nKV: number, hd: number, scale: number, window: number): void;
  /**
   * Decode's attention against the paged KV cache (the CPU backend's `pagedAttention`): `cacheFloats`
   * the size of each cache, every visible position's block checked against it before anything runs.
   */
  pagedAttention(heap: Uint8Array, out: number, q: number, kCache: number, vCache: number, rows: number, nH: number, nKV: number,
    hd: number, blockSize: number, maxBlocks: number, scale: number, window: number, cacheFloats: number, tables: Int32Array, lengths: Int32Array): void;
  /** Its backward (`flashAttentionBackward`): dq, dk, dv overwritten. */
  attentionBackward(heap: Uint8Array, dq: number, dk: number, dv: number, dOut: number, out: number, q: number, k: number, v: number, lse: number,
    B: number, S: number, nH: number, nKV: number, hd: number, scale: number, window: number): void;
  /**
   * Whether products of many rows go to OpenBLAS's sgemm (where the addon found `libopenblas.so.0`,
   * Debian's libopenblas0-pthread; on by default unless `OPENLEDGER_BLAS=off`) or to the addon's
   * own GEMM; returns whether OpenBLAS is now used. Process-wide.
   */
  useBlas(enabled: boolean): boolean;
  /** What the addon was built for and uses: `avx2 fma f16c` or `portable`, then `, GEMM by OpenBLAS …` where it does. */
  features(): string;
}

/** `OPENLEDGER_KERNELS=native` was asked for and the addon cannot be loaded. */
export class NativeKernelsUnavailableError extends Error {
  override name = 'NativeKernelsUnavailableError';
}

let loaded: NativeKernels | null | undefined;
let loadFailure = '';

/**
 * This thread's native kernels, or undefined where they are not built or not wanted
 * (`OPENLEDGER_KERNELS`: `auto`, the default, uses them when built; `wasm` never; `native` always,
 * throwing {@link NativeKernelsUnavailableError} when they cannot be loaded).
 *
 * @example
 * const native = nativeKernels();
 * console.log(native ? `native kernels (${native.features()})` : 'WebAssembly kernels');
 */
export function nativeKernels(env: NodeJS.ProcessEnv = process.env): NativeKernels | undefined {
  const wanted = env.OPENLEDGER_KERNELS ?? 'auto';
  if (wanted !== 'auto' && wanted !== 'wasm' && wanted !== 'native') {
    throw new NativeKernelsUnavailableError(`OPENLEDGER_KERNELS must be auto, wasm or native, not '${wanted}'`);
  }
  if (wanted === 'wasm') return undefined;
  if (loaded === undefined) {
    loaded = null;
    if (!existsSync(NATIVE_KERNELS_PATH)) loadFailure = `${NATIVE_KERNELS_PATH} is not built (npm run build:kernels)`;
    else {
      try {
        loaded = createRequire(import.meta.url)(NATIVE_KERNELS_PATH) as NativeKernels;
      } catch (err) {
        loadFailure = err instanceof Error ? err.message : String(err);
      }
    }
  }
  if (loaded) return loaded;
  if (wanted === 'native') throw new NativeKernelsUnavailableError(`the native kernels cannot be loaded: ${loadFailure}`);
  return undefined;
}
