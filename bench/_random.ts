/**
 * splitmix32: a small seeded generator of uniform floats in [0, 1), so that benchmarks generate
 * the same data on every run.
 *
 * @example
 * const random = generator(1);
 * const x = random();
 */
export function generator(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
}
