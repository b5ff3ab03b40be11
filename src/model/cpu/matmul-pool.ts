/**
 * A pool of worker threads for the CPU backend's matrix products. `pool.matmul(…)` is
 * synchronous: it splits C into chunks of rows (or of columns when C has few rows), wakes the
 * workers through a shared control block (no message per call), takes chunks itself, and waits
 * with `Atomics.wait` until every chunk is done. All threads compute on the shared heap
 * (`allocShared`), so operands from it are used in place; other arrays are copied onto it.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { MatmulLayout } from '../backend.ts';
import { checkMatmul, checkMatmulQuantized, mainEngine, matmulQuantizedRows, matmulRows, onHeap } from './matmul.ts';
import type { QuantOperand } from './matmul.ts';
import { DECODE_MAX_ROWS, F32_DECODE_MAX_ROWS, QUANT_CODES } from './matmul-quant.ts';
import { sharedHeap } from './matmul-heap.ts';
import { DEAD, DONE, ERROR, JOB_SEQ, PROGRESS, SHUTDOWN, createControl, failureMessage, publishJob, runChunks } from './matmul-job.ts';
import { LAYOUT_CODES, TILE, kernelModule, scratchBytes } from './matmul-wasm.ts';
import type { MatmulWorkerData } from './matmul-worker.ts';

export { allocShared, freeShared, isShared } from './matmul-heap.ts';

/** A worker of the pool failed, died or stalled; the pool cannot be used any more. */
export class MatmulWorkerError extends Error {
  override name = 'MatmulWorkerError';
}

/** The pool was used after `dispose()`. */
export class PoolDisposedError extends Error {
  override name = 'PoolDisposedError';
}

/** Options of {@link MatmulPool}. */
export interface MatmulPoolOptions {
  /** Threads computing a product, the caller's included (default {@link defaultThreadCount}). */
  threads?: number;
  /** Products of fewer floating-point operations (2·m·k·n) run on the caller's thread alone. */
  minFlops?: number;
  /** Chunks per thread a product is split into (more balance better on a busy machine). */
  chunksPerThread?: number;
  /** How long a worker polls for the next job before it sleeps, in µs. */
  spinMicros?: number;
  /** How long the caller waits without any progress from the workers before it gives up, in ms. */
  stallTimeoutMs?: number;
}

/** Measured on the 2-core VM (bench/matmul.ts): below ~1 MFLOP the wake-up costs more than it saves. */
const DEFAULT_MIN_FLOPS = 1_000_000;
const DEFAULT_CHUNKS_PER_THREAD = 3;
const DEFAULT_SPIN_MICROS = 50;
const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/**
 * `OPENLEDGER_THREADS` when it is a positive integer, else `os.availableParallelism()`.
 *
 * @example
 * defaultThreadCount(); // 2 on the 2-core VM
 */
export function defaultThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.OPENLEDGER_THREADS);
  return Number.isInteger(fromEnv) && fromEnv >= 1 ? fromEnv : availableParallelism();
}

/**
 * Workers inherit the process's node options by default, which fails when the process was started
 * with an option meant for an inline main script only (`--input-type`): those are left out then.
 */
function workerExecArgv(): { execArgv?: string[] } {
  const mainOnly = (arg: string) => /^--input-type\b/.test(arg);
  return process.execArgv.some(mainOnly) ? { execArgv: process.execArgv.filter((arg) => !mainOnly(arg)) } : {};
}

/**
 * A pool of `threads − 1` workers plus the caller's thread. Workers are unref'ed (they never keep
 * the process alive); `dispose()` stops them.
 *
 * @example
 * const pool = new MatmulPool();
 * const a = allocShared(m * k), b = allocShared(n * k), c = allocShared(m * n);
 * pool.matmul(c, a, b, m, k, n, 'nt');
 * await pool.dispose();
 */
export class MatmulPool {
  readonly threads: number;
  private readonly minFlops: number;
  private readonly chunksPerThread: number;
  private readonly stallTimeoutMs: number;
  private readonly ctl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly scratch: number[] = [];
  private seq = 0;
  private disposed = false;
  private broken: Error | undefined;

  constructor(options: MatmulPoolOptions = {}) {
    const threads = options.threads ?? defaultThreadCount();
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    this.minFlops = options.minFlops ?? DEFAULT_MIN_FLOPS;
    this.chunksPerThread = options.chunksPerThread ?? DEFAULT_CHUNKS_PER_THREAD;
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.ctl = new Int32Array(createControl());
    // Without WebAssembly there is nothing to share: the pool is the single-threaded JS kernel.
    this.threads = mainEngine() ? threads : 1;
    const heap = sharedHeap();
    for (let who = 1; who < this.threads; who++) {
      const scratch = heap.allocBytes(scratchBytes());
      this.scratch.push(scratch);
      const workerData: MatmulWorkerData = {
        memory: heap.memory, module: kernelModule(), control: this.ctl.buffer as SharedArrayBuffer,
        who, scratch, spinMicros: options.spinMicros ?? DEFAULT_SPIN_MICROS,
      };
      const worker = new Worker(new URL('./matmul-worker.ts', import.meta.url), { workerData, ...workerExecArgv() });
      worker.unref();
      worker.on('error', (err: unknown) => {
        this.broken ??= new MatmulWorkerError(`matmul worker ${who} failed: ${err instanceof Error ? err.message : String(err)}`);
      });
      worker.on('exit', (code) => {
        if (!this.disposed) this.broken ??= new MatmulWorkerError(`matmul worker ${who} exited (code ${code})`);
      });
      this.workers.push(worker);
    }
  }

  /**
   * `C[m×n] (+)= alpha · op(A)·op(B)`, split across the pool's threads when large enough:
   * `nn` A[m×k]·B[k×n]; `nt` A[m×k]·B[n×k]ᵀ; `tn` A[k×m]ᵀ·B[k×n]. Returns when C is complete.
   * Throws {@link MatmulWorkerError} if a worker fails or dies (the pool is unusable afterwards).
   *
   * @example
   * pool.matmul(dW, dY, x, out, tokens, inp, 'tn', true); // dW += dYᵀ·x
   */
  matmul(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number,
    layout: MatmulLayout, accumulate = false, alpha = 1): void {
    if (this.disposed) throw new PoolDisposedError('matmul pool used after dispose()');
    checkMatmul(c, a, b, m, k, n, layout, 0, m);
    this.throwIfBroken();
    // products of few rows stream W (the decode path): split its rows (C's columns) between threads
    const plan = this.plan(m, k, n, layout === 'nt' && m <= F32_DECODE_MAX_ROWS);
    if (!plan) {
      matmulRows(c, a, b, m, k, n, layout, accumulate, alpha, 0, m);
      return;
    }
    this.run(c, a, b, m, k, n, layout, accumulate, alpha, plan, 0);
  }

  /**
   * `C[m×n] (+)= alpha · op(A)·op(W)` with W quantised (see `matmulQuantized` in matmul.ts), split
   * across the pool's threads when large enough. Products of a few rows (`nt`, m ≤ 16: decode) are
   * split over n, so each thread streams its own rows of W.
   *
   * @example
   * pool.matmulQuantized(y, x, { type: 'Q4_K', rows: 1536, cols: 576, bytes }, 1, 576, 1536, 'nt');
   */
  matmulQuantized(c: Float32Array, a: Float32Array, w: QuantOperand, m: number, k: number, n: number,
    layout: MatmulLayout, accumulate = false, alpha = 1): void {
    if (this.disposed) throw new PoolDisposedError('matmul pool used after dispose()');
    checkMatmulQuantized(c, a, w, m, k, n, layout, 0, m);
    this.throwIfBroken();
    const plan = this.plan(m, k, n, layout === 'nt' && m <= DECODE_MAX_ROWS);
    if (!plan) {
      matmulQuantizedRows(c, a, w, m, k, n, layout, accumulate, alpha, 0, m);
      return;
    }
    this.run(c, a, w.bytes, m, k, n, layout, accumulate, alpha, plan, QUANT_CODES[w.type]);
  }

  private run(c: Float32Array, a: Float32Array, b: Float32Array | Uint8Array, m: number, k: number, n: number, layout: MatmulLayout,
    accumulate: boolean, alpha: number, plan: { splitCols: boolean; chunk: number; chunks: number }, quant: number): void {
    const heap = sharedHeap();
    const at = onHeap(heap, c, a, b, m, k, n, accumulate, 0, m);
    this.seq = this.seq >= 32767 ? 1 : this.seq + 1;
    const seq = this.seq;
    publishJob(this.ctl, {
      layout: LAYOUT_CODES[layout], m, k, n, c: at.c, a: at.a, b: at.b, accumulate, alpha,
      splitCols: plan.splitCols, chunk: plan.chunk, chunks: plan.chunks, quant,
    }, seq, Math.min(this.workers.length, plan.chunks - 1));
    runChunks(this.ctl, mainEngine()!, seq, 0);
    this.wait(plan.chunks);
    at.release();
    const failed = Atomics.load(this.ctl, ERROR);
    if (failed !== 0) {
      this.broken = new MatmulWorkerError(`matmul ${failed === 1 ? 'on the calling thread' : `worker ${failed - 1}`} failed: ${failureMessage(this.ctl)}`);
      throw this.broken;
    }
  }

  /**
   * Stops the workers and gives back their scratch memory. The pool cannot be used afterwards.
   *
   * @example
   * await pool.dispose();
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    Atomics.store(this.ctl, SHUTDOWN, 1);
    Atomics.add(this.ctl, JOB_SEQ, 1);
    Atomics.notify(this.ctl, JOB_SEQ);
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const s of this.scratch) sharedHeap().freeBytes(s);
    this.scratch.length = 0;
  }

  /** How to split a product (by columns when `byColumns`), or undefined to run it on this thread alone. */
  private plan(m: number, k: number, n: number, byColumns = false): { splitCols: boolean; chunk: number; chunks: number } | undefined {
    if (this.workers.length === 0 || m === 0 || n === 0 || 2 * m * k * n < this.minFlops) return undefined;
    const { mr, nr } = TILE;
    const threads = this.threads;
    const rowTiles = Math.ceil(m / mr), colTiles = Math.ceil(n / nr);
    const splitCols = byColumns || (rowTiles < 2 * threads && colTiles > rowTiles);
    const tiles = splitCols ? colTiles : rowTiles;
    const wanted = Math.min(tiles, this.chunksPerThread * threads, 65535);
    const chunk = Math.ceil(tiles / wanted) * (splitCols ? nr : mr);
    const chunks = Math.ceil((splitCols ? n : m) / chunk);
    return chunks > 1 ? { splitCols, chunk, chunks } : undefined;
  }

  /** Waits until `chunks` chunks are done; throws if a worker died or nothing moved for too long. */
  private wait(chunks: number): void {
    let progress = Atomics.load(this.ctl, PROGRESS);
    let since = performance.now();
    for (;;) {
      const done = Atomics.load(this.ctl, DONE);
      if (done >= chunks) return;
      const dead = Atomics.load(this.ctl, DEAD);
      if (dead !== 0) {
        this.broken = new MatmulWorkerError(`matmul worker ${dead} died during a product`);
        throw this.broken;
      }
      Atomics.wait(this.ctl, DONE, done, 100);
      const now = performance.now(), p = Atomics.load(this.ctl, PROGRESS);
      if (p !== progress) {
        progress = p;
        since = now;
      } else if (now - since > this.stallTimeoutMs) {
        this.broken = new MatmulWorkerError(`matmul workers made no progress for ${this.stallTimeoutMs} ms`);
        throw this.broken;
      }
    }
  }

  private throwIfBroken(): void {
    if (this.broken) throw this.broken;
    const dead = Atomics.load(this.ctl, DEAD);
    if (dead !== 0) {
      this.broken = new MatmulWorkerError(`matmul worker ${dead} has exited`);
      throw this.broken;
    }
  }
}
