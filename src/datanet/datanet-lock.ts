const tails = new Map<number, Promise<unknown>>();

/**
 * Runs `fn` after every earlier call for the same datanet has finished, so that duplicate checks
 * and the near-duplicate index see contributions in one order.
 *
 * @example
 * await withDatanetLock(datanet.id, () => ingestChunk(...));
 */
export function withDatanetLock<T>(datanetId: number, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(datanetId) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => {});
  tails.set(datanetId, tail);
  void tail.then(() => {
    if (tails.get(datanetId) === tail) tails.delete(datanetId);
  });
  return run;
}
