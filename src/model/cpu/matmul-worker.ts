/**
 * A worker thread of the matmul pool (`matmul-pool.ts`): instantiates the kernels over the shared
 * heap, then sleeps on the control block's job number and runs chunks of each job it wakes for,
 * until the pool sets SHUTDOWN. Its exit handler flags it as dead, so the caller throws instead
 * of waiting for it.
 */
import { workerData } from 'node:worker_threads';
import { DEAD, DONE, JOB_SEQ, PROGRESS, SHUTDOWN, runChunks } from './matmul-job.ts';
import { GemmEngine } from './matmul-wasm.ts';
import type { WasmMemory, WasmModule } from './wasm-api.ts';

/** What the pool passes to each worker. */
export interface MatmulWorkerData {
  memory: WasmMemory;
  module: WasmModule;
  control: SharedArrayBuffer;
  /** This worker's thread number (1…; 0 is the caller). */
  who: number;
  /** Byte offset of this worker's scratch block on the heap. */
  scratch: number;
  /** How long to poll for the next job before sleeping (µs). */
  spinMicros: number;
}

const data = workerData as MatmulWorkerData;
const ctl = new Int32Array(data.control);
process.on('exit', () => {
  Atomics.store(ctl, DEAD, data.who);
  Atomics.notify(ctl, DONE);
});

const engine = new GemmEngine(data.memory, data.module, data.scratch);
engine.onProgress = () => {
  Atomics.add(ctl, PROGRESS, 1);
};

/** Polls JOB_SEQ for up to spinMicros while it still equals `seen`. */
function spin(seen: number): void {
  if (data.spinMicros <= 0) return;
  const until = performance.now() + data.spinMicros / 1000;
  while (Atomics.load(ctl, JOB_SEQ) === seen && performance.now() < until) { /* poll */ }
}

let seen = 0;
for (;;) {
  const seq = Atomics.load(ctl, JOB_SEQ);
  if (Atomics.load(ctl, SHUTDOWN) !== 0) break;
  if (seq === seen) {
    spin(seen);
    if (Atomics.load(ctl, JOB_SEQ) === seen) Atomics.wait(ctl, JOB_SEQ, seen);
    continue;
  }
  seen = seq;
  runChunks(ctl, engine, seq, data.who);
}
