/** Runs `fn` after `previous` settles (whatever its outcome); returns the run and the new tail. */
function after<T>(previous: Promise<unknown>, fn: () => Promise<T>): { run: Promise<T>; tail: Promise<void> } {
  const run = previous.then(fn, fn);
  return { run, tail: run.then(() => {}, () => {}) };
}

/**
 * A FIFO lock: each call runs after the previous one settled.
 *
 * @example
 * const exclusive = createLock();
 * await exclusive(() => computeOnSharedBuffers());
 */
export function createLock(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const next = after(tail, fn);
    tail = next.tail;
    return next.run;
  };
}

/**
 * A FIFO lock per key; a key's entry is dropped once nothing waits on it.
 *
 * @example
 * const withDatanet = createKeyedLock<number>();
 * await withDatanet(datanetId, () => ingestChunk(...));
 */
export function createKeyedLock<K>(): <T>(key: K, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<K, Promise<void>>();
  return <T>(key: K, fn: () => Promise<T>) => {
    const { run, tail } = after(tails.get(key) ?? Promise.resolve(), fn);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
