import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import type { MatmulLayout } from '../backend.ts';
import { matmul } from './matmul.ts';
import { nativeKernels } from './matmul-native.ts';
import { sharedHeap } from './matmul-heap.ts';
import { DONE, ERROR, PROGRESS, createControl, failureMessage, publishJob, runChunks } from './matmul-job.ts';
import { MatmulPool, MatmulWorkerError, PoolDisposedError, allocShared, defaultThreadCount, freeShared } from './matmul-pool.ts';
import { GemmEngine, kernelModule, scratchBytes } from './matmul-wasm.ts';
import { randomArray } from './random-array.test-util.ts';

const random = randomArray;

/** Waits until the pool's workers are running (they start asynchronously; the pool works meanwhile). */
async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

/** Whether the native kernels found OpenBLAS (read before any test switches it). */
const blasFound = nativeKernels()?.features().includes('OpenBLAS') ?? false;

describe('MatmulPool', () => {
  // minFlops 0 and many chunks, so that even small products are split across the threads.
  const pool = new MatmulPool({ threads: 3, minFlops: 0, chunksPerThread: 4 });
  // The same bits whatever the split is a property of the engine's own kernels: OpenBLAS (where the
  // native kernels use it) picks its kernels by the shape it is given, so it is checked apart, below.
  const blas = nativeKernels()?.useBlas(false) ?? false;
  after(() => {
    nativeKernels()?.useBlas(blas);
    return pool.dispose();
  });

  it('gives the same bits as the single-threaded kernel, whatever the split (rows or columns)', async () => {
    await settle();
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 90 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 90 }),
      fc.constantFrom<MatmulLayout>('nn', 'nt', 'tn'), fc.boolean(), fc.constantFrom(1, 0.5, -2), fc.boolean(), fc.nat(),
      (m, k, n, layout, accumulate, alpha, shared, seed) => {
        const a = random(m * k, seed, shared), b = random(k * n, seed + 1, shared);
        const c1 = random(m * n, seed + 2, shared), c2 = c1.slice();
        pool.matmul(c1, a, b, m, k, n, layout, accumulate, alpha);
        matmul(c2, a, b, m, k, n, layout, accumulate, alpha);
        assert.deepEqual(c1, c2);
      },
    ), { numRuns: 150 });
  });

  it('splits large products and small-m products (by columns) with identical results', () => {
    const progress = workerProgress();
    for (const [layout, m, k, n] of [['nt', 512, 256, 300], ['tn', 8, 700, 768], ['nn', 1000, 8, 768], ['nt', 2, 33, 4000]] as const) {
      const a = random(m * k, 1), b = random(k * n, 2), c1 = allocShared(m * n), c2 = allocShared(m * n);
      matmul(c2, a, b, m, k, n, layout, false, 1);
      for (let i = 0; i < 5; i++) {
        pool.matmul(c1, a, b, m, k, n, layout, false, 1);
        assert.deepEqual(c1, c2, `${layout} ${m}×${k}×${n}`);
      }
      for (const x of [a, b, c1, c2]) freeShared(x);
    }
    assert.ok(workerProgress() > progress, 'the workers took part');
  });

  /** Blocks of work the workers have done so far. */
  const workerProgress = () => Atomics.load((pool as unknown as { ctl: Int32Array }).ctl, PROGRESS);

  it('sees memory the heap grew after the workers started', () => {
    const m = 700, k = 600, n = 500;
    const before = sharedHeap().sizeBytes;
    const a = random(m * k, 3), b = random(k * n, 4), c1 = allocShared(m * n), c2 = allocShared(m * n);
    const big = allocShared(Math.ceil(before / 4) + 1); // forces the memory to grow
    assert.ok(sharedHeap().sizeBytes > before);
    const c3 = allocShared(m * n);
    matmul(c2, a, b, m, k, n, 'nn');
    // Repeated until a worker has taken a chunk (on a busy machine the caller may do them all).
    const progress = workerProgress();
    for (let i = 0; i < 50 && workerProgress() === progress; i++) {
      c3.fill(0);
      pool.matmul(c3, a, b, m, k, n, 'nn');
      assert.deepEqual(c3, c2);
    }
    assert.ok(workerProgress() > progress, 'the workers took part');
    for (const x of [a, b, c1, c2, c3, big]) freeShared(x);
  });
});

describe('MatmulPool with OpenBLAS', { skip: blasFound ? false : 'the native kernels did not find OpenBLAS (libopenblas0-pthread) here' }, () => {
  it('splits products across threads calling OpenBLAS at once, equal to one thread within rounding', async () => {
    nativeKernels()!.useBlas(true);
    const pool = new MatmulPool({ threads: 2, minFlops: 0, chunksPerThread: 4 });
    try {
      for (const [layout, m, k, n] of [['nt', 512, 256, 300], ['tn', 8, 700, 768], ['nn', 1000, 8, 768], ['nn', 300, 300, 300]] as const) {
        const a = random(m * k, 1), b = random(k * n, 2), c1 = allocShared(m * n), c2 = allocShared(m * n);
        matmul(c2, a, b, m, k, n, layout, false, 1);
        for (let i = 0; i < 3; i++) {
          pool.matmul(c1, a, b, m, k, n, layout, false, 1);
          // |a|, |b| < 0.5: each product term under 0.25, so k·0.25 bounds Σ|a·b|
          const bound = (k + 2) * 2 * 2 ** -24 * k * 0.25;
          for (let q = 0; q < m * n; q++) if (!(Math.abs(c1[q]! - c2[q]!) <= bound)) assert.fail(`${layout} ${m}×${k}×${n}: C[${q}] ${c1[q]} vs ${c2[q]}`);
        }
        for (const x of [a, b, c1, c2]) freeShared(x);
      }
    } finally {
      await pool.dispose();
    }
  });
});

describe('MatmulPool lifecycle', () => {
  it('refuses work after dispose(), and dispose() twice is fine', async () => {
    const pool = new MatmulPool({ threads: 2 });
    const x = allocShared(4);
    await pool.dispose();
    await pool.dispose();
    assert.throws(() => pool.matmul(x, x, x, 2, 2, 2, 'nn'), PoolDisposedError);
  });

  it('with one thread computes on the caller alone', async () => {
    const pool = new MatmulPool({ threads: 1 });
    const a = random(64 * 64, 1), b = random(64 * 64, 2), c1 = allocShared(64 * 64), c2 = allocShared(64 * 64);
    pool.matmul(c1, a, b, 64, 64, 64, 'nt');
    matmul(c2, a, b, 64, 64, 64, 'nt');
    assert.deepEqual(c1, c2);
    await pool.dispose();
  });

  it('throws MatmulWorkerError, instead of hanging, once a worker has died', async () => {
    const pool = new MatmulPool({ threads: 2, minFlops: 0 });
    await settle();
    const worker = (pool as unknown as { workers: Worker[] }).workers[0]!;
    const exited = once(worker, 'exit');
    await worker.terminate();
    await exited;
    const x = random(64 * 64, 5);
    assert.throws(() => pool.matmul(allocShared(64 * 64), x, x, 64, 64, 64, 'nn'), MatmulWorkerError);
    await pool.dispose();
  });

  it('defaultThreadCount reads OPENLEDGER_THREADS, else the available parallelism', () => {
    assert.equal(defaultThreadCount({ OPENLEDGER_THREADS: '3' }), 3);
    assert.ok(defaultThreadCount({ OPENLEDGER_THREADS: 'lots' }) >= 1);
    assert.ok(defaultThreadCount({}) >= 1);
  });

  it('a process using the pool exits by itself without dispose()', () => {
    const script = `
      import { MatmulPool, allocShared } from ${JSON.stringify(new URL('./matmul-pool.ts', import.meta.url).href)};
      const pool = new MatmulPool({ threads: 2, minFlops: 0 });
      await new Promise((r) => setTimeout(r, 200));
      const a = allocShared(256 * 256).fill(1);
      const c = allocShared(256 * 256);
      pool.matmul(c, a, a, 256, 256, 256, 'nn');
      console.log(c[0]);`;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '256');
    assert.ok(Date.now() - started < 15_000);
  });
});

describe('job protocol', () => {
  it('records a failing chunk, cancels the rest and counts every chunk as done', () => {
    const heap = sharedHeap();
    const ctl = new Int32Array(createControl());
    const scratch = heap.allocBytes(scratchBytes());
    const engine = new GemmEngine(heap.memory, kernelModule(), scratch);
    // C at the very end of the 4 GiB address space: the WebAssembly kernel traps out of bounds, the native one refuses it.
    publishJob(ctl, { layout: 0, m: 64, k: 8, n: 8, c: 0xffff_ff00, a: 64, b: 64, accumulate: false, alpha: 1, splitCols: false, chunk: 6, chunks: 11, quant: 0 }, 1, 0);
    const ran = runChunks(ctl, engine, 1, 2);
    assert.equal(ran, 1);
    assert.equal(Atomics.load(ctl, DONE), 11);
    assert.equal(Atomics.load(ctl, ERROR), 3);
    assert.match(failureMessage(ctl), /RuntimeError: memory access out of bounds|RangeError: gemm: an operand lies outside the heap/);
    assert.equal(runChunks(ctl, engine, 1, 1), 0); // nothing left to claim
    heap.freeBytes(scratch);
  });
});
