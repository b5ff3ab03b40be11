/**
 * Counts the f32 elements a CPU backend holds: wraps the `allocate` / `release` pair given to
 * `createCpuBackend` and tracks the live total and its peak (tensors and the backend's scratch
 * panels alike). Tests and benchmarks use it to bound a pass's activation memory.
 */
import { allocShared, freeShared } from './matmul-pool.ts';

/** An allocator pair for `createCpuBackend` that counts what it hands out. */
export interface FloatAccounting {
  allocate: (length: number) => Float32Array;
  release: (data: Float32Array) => void;
  /** Floats handed out and not yet released. */
  readonly live: number;
  /** The largest `live` since creation or the last {@link FloatAccounting.resetPeak}. */
  readonly peak: number;
  /** Starts a new peak from the current live count. */
  resetPeak(): void;
}

/**
 * Accounting over an allocator pair (default: the kernels' shared heap).
 *
 * @example
 * const floats = countFloats();
 * const backend = createCpuBackend({ matmul, allocate: floats.allocate, release: floats.release });
 * const weights = floats.live; // … run a pass …
 * console.log(`activations: ${(floats.peak - weights) * 4} bytes`);
 */
export function countFloats(allocate: (length: number) => Float32Array = allocShared, release: (data: Float32Array) => void = freeShared): FloatAccounting {
  let live = 0, peak = 0;
  return {
    allocate(length) {
      const data = allocate(length);
      live += data.length;
      if (live > peak) peak = live;
      return data;
    },
    release(data) {
      live -= data.length;
      release(data);
    },
    get live() {
      return live;
    },
    get peak() {
      return peak;
    },
    resetPeak() {
      peak = live;
    },
  };
}
