/**
 * The pool's shared control block and its protocol, used by the caller's thread and the workers.
 *
 * A job is split into chunks (row or column ranges of C). The caller writes the job's descriptor,
 * then publishes it: `CLAIM := seq << 16` (the job's sequence number and its next unclaimed chunk in
 * one word), then `JOB_SEQ := seq` with `Atomics.notify`. Every thread, the caller included, takes
 * chunks with a compare-and-swap on CLAIM, so a claim only succeeds while CLAIM still names the job
 * the thread read the descriptor of: a worker that wakes late can never run a chunk of a newer job
 * with a stale descriptor. Each finished chunk increments DONE; the caller waits until DONE counts
 * every chunk, taking chunks itself meanwhile (so a job finishes even if no worker ever wakes).
 */
import type { GemmEngine, LayoutCode } from './matmul-wasm.ts';

/** Int32 slots of the control block. */
export const JOB_SEQ = 0;
export const CLAIM = 1;
export const DONE = 2;
/** 0, or 1 + the thread (0 the caller, 1… the workers) that failed first (its message is in the message area). */
export const ERROR = 3;
export const SHUTDOWN = 4;
/** Incremented by workers after every block of work (the caller's stall watchdog reads it). */
export const PROGRESS = 5;
/** Set (the worker's thread number) by a worker's exit handler: that worker is gone. */
export const DEAD = 6;
const LAYOUT = 8, M = 9, K = 10, N = 11, C = 12, A = 13, B = 14, ACCUMULATE = 15, SPLIT_COLS = 16, CHUNK = 17, CHUNKS = 18, QUANT = 19;
/** Float64 slot of alpha (byte 160). */
const ALPHA_F64 = 20;
/** Error message area: a length then UTF-8 bytes. */
const MESSAGE_LENGTH = 48;
const MESSAGE_BYTE = 256;
const MESSAGE_MAX = 768;
const CONTROL_BYTES = MESSAGE_BYTE + MESSAGE_MAX;

/** A matrix product on the heap, split into `chunks` ranges of `chunk` rows (or columns, with `splitCols`). */
export interface Job {
  layout: LayoutCode;
  m: number;
  k: number;
  n: number;
  /** Byte offsets on the heap. */
  c: number;
  a: number;
  b: number;
  accumulate: boolean;
  alpha: number;
  splitCols: boolean;
  chunk: number;
  chunks: number;
  /** 0 for an f32 B, else B's quantised type (`QUANT_CODES` of `matmul-quant.ts`). */
  quant: number;
}

/**
 * A new zeroed control block.
 *
 * @example
 * const ctl = new Int32Array(createControl());
 */
export function createControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES);
}

/**
 * Writes `job` and publishes it as job `seq` (1 ≤ seq < 32768), waking up to `wake` workers.
 * The previous job must be finished.
 */
export function publishJob(ctl: Int32Array, job: Job, seq: number, wake: number): void {
  const u = new Uint32Array(ctl.buffer, 0, ctl.length);
  ctl[LAYOUT] = job.layout;
  ctl[M] = job.m;
  ctl[K] = job.k;
  ctl[N] = job.n;
  u[C] = job.c;
  u[A] = job.a;
  u[B] = job.b;
  ctl[ACCUMULATE] = job.accumulate ? 1 : 0;
  ctl[SPLIT_COLS] = job.splitCols ? 1 : 0;
  ctl[CHUNK] = job.chunk;
  ctl[CHUNKS] = job.chunks;
  ctl[QUANT] = job.quant;
  new Float64Array(ctl.buffer, 0, CONTROL_BYTES / 8)[ALPHA_F64] = job.alpha;
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, CLAIM, seq << 16);
  Atomics.store(ctl, JOB_SEQ, seq);
  if (wake > 0) Atomics.notify(ctl, JOB_SEQ, wake);
}

/**
 * Claims and runs chunks of job `seq` on `engine` until none is left (or a newer job was
 * published). Returns how many chunks this thread ran. Reads the descriptor before claiming.
 * If a chunk throws, the failure is recorded for thread `who` (0 the caller, 1… the workers), the
 * job's unclaimed chunks are cancelled (counted as done) and this thread stops.
 */
export function runChunks(ctl: Int32Array, engine: GemmEngine, seq: number, who: number): number {
  const u = new Uint32Array(ctl.buffer, 0, ctl.length);
  const layout = ctl[LAYOUT]! as LayoutCode, m = ctl[M]!, k = ctl[K]!, n = ctl[N]!;
  const c = u[C]!, a = u[A]!, b = u[B]!, accumulate = ctl[ACCUMULATE] === 1;
  const splitCols = ctl[SPLIT_COLS] === 1, chunk = ctl[CHUNK]!, chunks = ctl[CHUNKS]!, quant = ctl[QUANT]!;
  const alpha = new Float64Array(ctl.buffer, 0, CONTROL_BYTES / 8)[ALPHA_F64]!;
  let ran = 0;
  for (;;) {
    const claim = Atomics.load(ctl, CLAIM);
    if (claim >>> 16 !== seq) return ran;
    const index = claim & 0xffff;
    if (index >= chunks) return ran;
    if (Atomics.compareExchange(ctl, CLAIM, claim, claim + 1) !== claim) continue;
    const start = index * chunk;
    let failed = false;
    try {
      if (splitCols) engine.gemm(c, a, b, m, k, n, layout, accumulate, alpha, 0, m, start, Math.min(n, start + chunk), quant);
      else engine.gemm(c, a, b, m, k, n, layout, accumulate, alpha, start, Math.min(m, start + chunk), 0, n, quant);
    } catch (err) {
      failed = true;
      reportFailure(ctl, who, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      cancelRest(ctl, seq, chunks);
    }
    ran++;
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
    if (failed) return ran;
  }
}

/** Claims every unclaimed chunk of job `seq` at once and counts them as done. */
function cancelRest(ctl: Int32Array, seq: number, chunks: number): void {
  for (;;) {
    const claim = Atomics.load(ctl, CLAIM);
    const index = claim & 0xffff;
    if (claim >>> 16 !== seq || index >= chunks) return;
    if (Atomics.compareExchange(ctl, CLAIM, claim, (seq << 16) | chunks) === claim) {
      Atomics.add(ctl, DONE, chunks - index);
      return;
    }
  }
}

/** Records thread `who`'s failure (the first one wins), for the caller to throw. */
export function reportFailure(ctl: Int32Array, who: number, message: string): void {
  if (Atomics.compareExchange(ctl, ERROR, 0, who + 1) === 0) {
    const bytes = new TextEncoder().encode(message).subarray(0, MESSAGE_MAX);
    new Uint8Array(ctl.buffer, MESSAGE_BYTE, MESSAGE_MAX).set(bytes);
    Atomics.store(ctl, MESSAGE_LENGTH, bytes.length);
  }
}

/** The message recorded by {@link reportFailure}. */
export function failureMessage(ctl: Int32Array): string {
  const length = Atomics.load(ctl, MESSAGE_LENGTH);
  return new TextDecoder().decode(new Uint8Array(ctl.buffer, MESSAGE_BYTE, length).slice());
}
