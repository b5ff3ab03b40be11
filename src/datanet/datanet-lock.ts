import { createKeyedLock } from '../util/lock.ts';

const lock = createKeyedLock<number>();

/**
 * Runs `fn` after every earlier call for the same datanet has finished, so that duplicate checks
 * and the near-duplicate index see contributions in one order.
 *
 * @example
 * await withDatanetLock(datanet.id, () => ingestChunk(...));
 */
export function withDatanetLock<T>(datanetId: number, fn: () => Promise<T>): Promise<T> {
  return lock(datanetId, fn);
}
