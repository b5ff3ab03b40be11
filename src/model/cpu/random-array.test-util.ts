import { allocShared } from './matmul-pool.ts';

/**
 * A seeded array of values in [−0.5, 0.5) (a linear congruential generator), on the kernels'
 * shared heap unless `shared` is false, for the matmul tests.
 *
 * @example
 * const a = randomArray(64 * 64, 1); // on the heap
 */
export function randomArray(length: number, seed: number, shared = true): Float32Array {
  const x = shared ? allocShared(length) : new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}
