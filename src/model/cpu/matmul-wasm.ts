/**
 * The WebAssembly SIMD matmul engine: drives the generated kernels (`matmul-wasm-kernels.ts`)
 * over byte offsets of the shared heap. The same code runs on the caller's thread and on each
 * worker of the pool, each engine with its own scratch block for packed panels.
 */
import { kernelModuleBytes } from './matmul-wasm-kernels.ts';
import { DECODE_MAX_ROWS, F32_DECODE_MAX_K, F32_DECODE_MIN_K, F32_DECODE_MAX_ROWS, QUANT_CODES, QuantMatmul, quantScratchFloats } from './matmul-quant.ts';
import type { TileShape } from './matmul-wasm-kernels.ts';
import { MAX_PAGES, WasmUnavailableError } from './matmul-heap.ts';
import { wasmApi } from './wasm-api.ts';
import { nativeKernels } from './matmul-native.ts';
import type { NativeKernels } from './matmul-native.ts';
import type { AttentionShape } from './flash-attention.ts';
import type { PagedShape } from './matmul.ts';
import type { WasmMemory, WasmModule } from './wasm-api.ts';

/** Layouts as numbers (for the pool's shared job descriptor). */
export const LAYOUT_CODES = { nn: 0, nt: 1, tn: 2 } as const;
export type LayoutCode = 0 | 1 | 2;

/** The register tile: 6 rows × 8 columns (12 f32x4 accumulators), the fastest measured (see docs/decisions/0008). */
export const TILE: TileShape = { mr: 6, nr: 8 };

/** Cache blocking: kc steps of k per panel, mc rows of A per packed block, nc columns of B per packed block. */
export interface Blocking {
  kc: number;
  mc: number;
  nc: number;
}

/** The default blocking (measured on the 2-core EPYC VM: 32 KiB L1d, 1 MiB L2 per core). */
export const BLOCKING: Blocking = { kc: 256, mc: 96, nc: 1024 };

/** Bytes of scratch one engine needs for a blocking (packed panels, and the quantised paths' block). */
export function scratchBytes(blocking: Blocking = BLOCKING): number {
  const { mr, nr } = TILE;
  const aFloats = Math.ceil(blocking.mc / mr) * mr * blocking.kc;
  const bFloats = Math.ceil(blocking.nc / nr) * nr * blocking.kc;
  return (aFloats + bFloats + mr * nr + 64 + quantScratchFloats(blocking) + 16) * 4;
}

let compiled: WasmModule | undefined;

/**
 * Whether the kernels can run here: WebAssembly with SIMD and shared memory. Relaxed SIMD's fused
 * multiply-add and integer dot product are used where they validate, plain SIMD otherwise.
 *
 * @example
 * if (!wasmKernelsAvailable()) console.warn('using the JavaScript matmul');
 */
export function wasmKernelsAvailable(): boolean {
  return wasmApi !== undefined && typeof SharedArrayBuffer === 'function' && wasmApi.validate(kernelModuleBytes(TILE, MAX_PAGES, { fma: false }));
}

/**
 * The compiled kernel module (compiled once per thread; it can be posted to workers).
 *
 * @example
 * const module = kernelModule();
 */
export function kernelModule(): WasmModule {
  if (compiled) return compiled;
  if (!wasmApi || !wasmKernelsAvailable()) throw new WasmUnavailableError('WebAssembly SIMD with shared memory is not available');
  const fma = wasmApi.validate(kernelModuleBytes(TILE, MAX_PAGES, { fma: true }));
  const relaxedDot = wasmApi.validate(kernelModuleBytes(TILE, MAX_PAGES, { fma, relaxedDot: true }));
  compiled = new wasmApi.Module(kernelModuleBytes(TILE, MAX_PAGES, { fma, relaxedDot }));
  return compiled;
}

interface KernelExports {
  macroPacked(ap: number, aPanel: number, esA: number, psA: number, bp: number, bPanel: number, psB: number,
    mc: number, nc: number, kc: number, c: number, ldc: number, alpha: number, beta: number, tmp: number): void;
  macroStrided(ap: number, aPanel: number, esA: number, psA: number, bp: number, bPanel: number, psB: number,
    mc: number, nc: number, kc: number, c: number, ldc: number, alpha: number, beta: number, tmp: number): void;
  packA(dst: number, src: number, count: number, kc: number, es: number, ps: number): void;
  packB(dst: number, src: number, count: number, kc: number, es: number, ps: number): void;
}

/** B is read in place (not packed) when C's row range has at most this many rows (nn and tn only). */
const DIRECT_B_MAX_ROWS = 24;
/** A is read in place (not packed) when a block of B has at most this many column panels. */
const DIRECT_A_MAX_PANELS = 2;

/**
 * Computes row and column ranges of matrix products on a shared memory.
 *
 * @example
 * const engine = new GemmEngine(heap.memory, kernelModule(), heap.allocBytes(scratchBytes()));
 * engine.gemm(c.byteOffset, a.byteOffset, b.byteOffset, m, k, n, LAYOUT_CODES.nn, false, 1, 0, m, 0, n);
 */
export class GemmEngine {
  private readonly memory: WasmMemory;
  private readonly k: KernelExports;
  private readonly blocking: Blocking;
  private readonly aPack: number;
  private readonly bPack: number;
  private readonly tmp: number;
  private readonly quant: QuantMatmul;
  /** The native kernels where built (they take every f32 product, and Q8_0/Q4_0 decode products). */
  private readonly native: NativeKernels | null;
  private heapView: Uint8Array | undefined;
  /** Called after each block of work (the pool's progress counter). */
  onProgress: (() => void) | undefined;

  constructor(memory: WasmMemory, module: WasmModule, scratch: number, blocking: Blocking = BLOCKING,
    native: NativeKernels | null = nativeKernels() ?? null) {
    if (blocking.mc % TILE.mr !== 0 || blocking.nc % TILE.nr !== 0) throw new RangeError('mc and nc must be multiples of the tile');
    if (!wasmApi) throw new WasmUnavailableError('this runtime has no WebAssembly');
    this.memory = memory;
    const exports = new wasmApi.Instance(module, { env: { memory } }).exports;
    this.k = {
      macroPacked: exports.macroPacked as KernelExports['macroPacked'],
      macroStrided: exports.macroStrided as KernelExports['macroStrided'],
      packA: exports[`pack${TILE.mr}`] as KernelExports['packA'],
      packB: exports[`pack${TILE.nr}`] as KernelExports['packB'],
    };
    this.blocking = blocking;
    this.native = native;
    const scratchStart = Math.ceil(scratch / 64) * 64;
    this.aPack = scratchStart;
    this.bPack = this.aPack + Math.ceil(blocking.mc / TILE.mr) * TILE.mr * blocking.kc * 4;
    this.tmp = this.bPack + Math.ceil(blocking.nc / TILE.nr) * TILE.nr * blocking.kc * 4;
    this.quant = new QuantMatmul(exports, Math.ceil((this.tmp + TILE.mr * TILE.nr * 4) / 64) * 64, 4 * quantScratchFloats(blocking));
  }

  /**
   * `C[r0..r1, c0..c1] (+)= alpha · op(A)·op(B)` for C[m×n] at byte `c`, A and B at bytes `a`, `b`
   * (row-major; `nn` A[m×k]·B[k×n], `nt` A[m×k]·B[n×k]ᵀ, `tn` A[k×m]ᵀ·B[k×n]). With `quant` (a
   * code of `QUANT_CODES`) B is stored as ggml blocks of that type, row-major as its layout says
   * (`nt`: [n, k]; `nn`/`tn`: [k, n]), its rows whole blocks.
   */
  gemm(c: number, a: number, b: number, m: number, k: number, n: number, layout: LayoutCode,
    accumulate: boolean, alpha: number, r0: number, r1: number, c0: number, c1: number, quant = 0): void {
    if (r1 <= r0 || c1 <= c0) return;
    if (k === 0 || alpha === 0) {
      if (!accumulate) this.zero(c, n, r0, r1, c0, c1);
      return;
    }
    const native = this.native;
    if (native && quant === 0) {
      native.gemm(this.heap(), c, a, b, m, k, n, layout, accumulate ? 1 : 0, alpha, r0, r1, c0, c1);
      this.onProgress?.();
      return;
    }
    // decided on the whole product's m, not the range, so that results do not depend on how the pool splits it
    if (native && (quant === QUANT_CODES.Q8_0 || quant === QUANT_CODES.Q4_0) && layout === 1 && m <= DECODE_MAX_ROWS && k % 32 === 0) {
      native.decodeQuant(this.heap(), c, a, b, quant, m, k, n, accumulate ? 1 : 0, alpha, r0, r1, c0, c1);
      this.onProgress?.();
      return;
    }
    if (quant !== 0 && layout === 1 && m <= DECODE_MAX_ROWS) {
      this.quant.decode(c, a, b, quant, m, k, n, accumulate, alpha, r0, r1, c0, c1);
      this.onProgress?.();
      return;
    }
    if (quant === 0 && layout === 1 && m <= F32_DECODE_MAX_ROWS && k % 4 === 0 && k >= F32_DECODE_MIN_K && k <= F32_DECODE_MAX_K) {
      this.quant.decodeF32(c, a, b, k, n, accumulate, alpha, r0, r1, c0, c1, new Float32Array(this.memory.buffer));
      this.onProgress?.();
      return;
    }
    const { mr, nr } = TILE;
    const { kc: KC, mc: MC, nc: NC } = this.blocking;
    const K = this.k;
    // Element strides in bytes: A's row i / step p, B's column j / step p.
    const esA = layout === 2 ? 4 : 4 * k, psA = layout === 2 ? 4 * m : 4;
    const esB = layout === 1 ? 4 * k : 4, psB = layout === 1 ? 4 : 4 * n;
    const ldc = 4 * n;
    const directB = quant === 0 && layout !== 1 && r1 - r0 <= DIRECT_B_MAX_ROWS;
    for (let jc = c0; jc < c1; jc += NC) {
      const nc = Math.min(NC, c1 - jc);
      const directA = Math.ceil(nc / nr) <= DIRECT_A_MAX_PANELS;
      const ncDirect = directB ? nc - (nc % nr) : 0;
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        const beta = accumulate || pc > 0 ? 1 : 0;
        const bSrc = b + pc * psB + jc * esB;
        // Columns [jc + ncDirect, jc + nc) go through a packed block of B.
        if (nc > ncDirect) {
          if (quant !== 0) this.quant.packB(K.packB, this.bPack, b, quant, layout === 1, k, n, jc, nc, pc, kc);
          else K.packB(this.bPack, bSrc + ncDirect * esB, nc - ncDirect, kc, esB, psB);
        }
        for (let ic = r0; ic < r1; ic += MC) {
          const mc = Math.min(MC, r1 - ic);
          const aSrc = a + ic * esA + pc * psA;
          const cBlock = c + ic * ldc + jc * 4;
          // Rows [ic + mcDirect, ic + mc) go through a packed block of A.
          const mcDirect = directA ? mc - (mc % mr) : 0;
          if (mc > mcDirect) K.packA(this.aPack, aSrc + mcDirect * esA, mc - mcDirect, kc, esA, psA);
          const aPackedPanel = mr * kc * 4;
          // Up to four sub-blocks: (direct | packed A rows) × (direct | packed B columns).
          if (ncDirect > 0) {
            if (mcDirect > 0) K.macroStrided(aSrc, mr * esA, esA, psA, bSrc, nr * 4, psB, mcDirect, ncDirect, kc, cBlock, ldc, alpha, beta, this.tmp);
            if (mc > mcDirect) K.macroPacked(this.aPack, aPackedPanel, 4, 4 * mr, bSrc, nr * 4, psB, mc - mcDirect, ncDirect, kc, cBlock + mcDirect * ldc, ldc, alpha, beta, this.tmp);
          }
          if (nc > ncDirect) {
            const bp = this.bPack, bPanel = nr * kc * 4, cCols = cBlock + ncDirect * 4;
            if (mcDirect > 0) K.macroStrided(aSrc, mr * esA, esA, psA, bp, bPanel, 4 * nr, mcDirect, nc - ncDirect, kc, cCols, ldc, alpha, beta, this.tmp);
            if (mc > mcDirect) K.macroPacked(this.aPack, aPackedPanel, 4, 4 * mr, bp, bPanel, 4 * nr, mc - mcDirect, nc - ncDirect, kc, cCols + mcDirect * ldc, ldc, alpha, beta, this.tmp);
          }
          this.onProgress?.();
        }
      }
    }
  }

  /**
   * One row's LoRA update from its adapter's A and Bᵀ (f32), all at byte offsets of the heap, on the
   * WebAssembly kernels (`QuantMatmul.loraRow`; the native kernels serve rows with {@link loraRows}).
   */
  loraRow(y: number, x: number, a: number, bt: number, inDim: number, outDim: number, r: number, scale: number, u: number): void {
    this.quant.loraRow(y, x, a, bt, inDim, outDim, r, scale, u, new Float32Array(this.memory.buffer));
  }

  /** Whether {@link loraRows} runs here (the native kernels are built). */
  get loraRowsAvailable(): boolean {
    return this.native !== null;
  }

  /** n rows' LoRA updates in one call on the native kernels (`NativeKernels.loraRows`); false, doing nothing, without them. */
  loraRows(y: number, x: number, n: number, inDim: number, outDim: number, table: Float64Array): boolean {
    if (!this.native) return false;
    this.native.loraRows(this.heap(), y, x, n, inDim, outDim, table);
    return true;
  }

  /** The factors of a coming {@link loraRows} prefetched during the next products (`NativeKernels.loraPrefetch`); false without the native kernels. */
  loraPrefetch(n: number, inDim: number, outDim: number, table: Float64Array): boolean {
    if (!this.native) return false;
    this.native.loraPrefetch(this.heap(), n, inDim, outDim, table);
    return true;
  }

  /**
   * The gated MLP's activation on the native kernels, `out = act(gate)·up` over n floats at byte
   * offsets of the heap (`NativeKernels.gated`); false, doing nothing, without them.
   */
  gated(out: number, gate: number, up: number, n: number, k: number, c: number): boolean {
    if (!this.native) return false;
    this.native.gated(this.heap(), out, gate, up, n, k, c);
    return true;
  }

  /** The backward of {@link gated} on the native kernels; false, doing nothing, without them. */
  gatedBackward(dGate: number, dUp: number, dOut: number, gate: number, up: number, n: number, k: number, c: number): boolean {
    if (!this.native) return false;
    this.native.gatedBackward(this.heap(), dGate, dUp, dOut, gate, up, n, k, c);
    return true;
  }

  /**
   * Flash attention on the native kernels (`NativeKernels.attention`), every tensor at a byte
   * offset of the heap; false, doing nothing, without them.
   */
  attention(out: number, lse: number, q: number, k: number, v: number, s: AttentionShape): boolean {
    if (!this.native) return false;
    this.native.attention(this.heap(), out, lse, q, k, v, s.B, s.S, s.nH, s.nKV, s.hd, s.scale, s.window);
    return true;
  }

  /** The backward of {@link attention} on the native kernels; false, doing nothing, without them. */
  attentionBackward(dq: number, dk: number, dv: number, dOut: number, out: number, q: number, k: number, v: number, lse: number, s: AttentionShape): boolean {
    if (!this.native) return false;
    this.native.attentionBackward(this.heap(), dq, dk, dv, dOut, out, q, k, v, lse, s.B, s.S, s.nH, s.nKV, s.hd, s.scale, s.window);
    return true;
  }

  /** Decode's paged attention on the native kernels (`NativeKernels.pagedAttention`); false, doing nothing, without them. */
  pagedAttention(out: number, q: number, kCache: number, vCache: number, cacheFloats: number, tables: Int32Array, lengths: Int32Array, s: PagedShape): boolean {
    if (!this.native) return false;
    this.native.pagedAttention(this.heap(), out, q, kCache, vCache, s.rows, s.nH, s.nKV, s.hd, s.blockSize, s.maxBlocks, s.scale, s.window, cacheFloats, tables, lengths);
    return true;
  }

  /** Which kernels this engine runs: `native (avx2 fma f16c)`, or `wasm`. */
  get kernels(): string {
    return this.native ? `native (${this.native.features()})` : 'wasm';
  }

  /** A view of the whole heap for the native kernels (renewed when the memory grew). */
  private heap(): Uint8Array {
    const buffer = this.memory.buffer;
    if (this.heapView?.buffer !== buffer) this.heapView = new Uint8Array(buffer);
    return this.heapView;
  }

  private zero(c: number, n: number, r0: number, r1: number, c0: number, c1: number): void {
    const heap = new Float32Array(this.memory.buffer);
    const base = c / 4;
    for (let i = r0; i < r1; i++) heap.fill(0, base + i * n + c0, base + i * n + c1);
  }
}
