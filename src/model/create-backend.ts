import type { Backend } from './backend.ts';
import { createCpuBackend } from './cpu/cpu-backend.ts';
import { attention, attentionBackward, gated, gatedBackward, loraPrefetch, loraRow, loraRows, loraRowsAvailable, mainEngine, matmul, matmulQuantized, pagedAttention } from './cpu/matmul.ts';
import { allocShared, defaultThreadCount, freeShared, isShared, MatmulPool } from './cpu/matmul-pool.ts';

export interface BackendOptions {
  /** Compute threads, the caller's included (default: `OPENLEDGER_THREADS` or every core). */
  threads?: number;
}

/**
 * The engine's backend for this machine: the CPU backend with tensors on the kernels' shared
 * heap and matrix products split across a worker pool (one thread: no pool).
 *
 * @example
 * const backend = createBackend({ threads: 2 });
 * const model = Llama.fromTensors(backend, config, tensors);
 * await backend.dispose();
 */
export function createBackend(options: BackendOptions = {}): Backend {
  const threads = options.threads ?? defaultThreadCount();
  const pool = threads > 1 ? new MatmulPool({ threads }) : null;
  return createCpuBackend({
    name: `cpu (${pool ? pool.threads : 1} thread${(pool?.threads ?? 1) > 1 ? 's' : ''}, ${mainEngine()?.kernels ?? 'JavaScript'} kernels)`,
    matmul: pool ? (c, a, b, m, k, n, layout, accumulate, alpha) => pool.matmul(c, a, b, m, k, n, layout, accumulate, alpha) : matmul,
    matmulQuantized: pool ? (c, a, w, m, k, n, layout, accumulate, alpha) => pool.matmulQuantized(c, a, w, m, k, n, layout, accumulate, alpha) : matmulQuantized,
    loraRow,
    // the native kernels' per-row LoRA (served adapters then keep half-precision factors for it)
    ...(loraRowsAvailable() ? { loraKernels: { onHeap: isShared, rows: loraRows, prefetch: loraPrefetch } } : {}),
    gated,
    gatedBackward,
    attention,
    attentionBackward,
    pagedAttention,
    allocate: allocShared,
    release: freeShared,
    onDispose: async () => pool?.dispose(),
  });
}
