import { CodedError } from '../util/coded-error.ts';

/** Refused for back-pressure: the queue is full. `retryAfterSeconds` goes in the Retry-After header. */
export class QueueFullError extends CodedError {
  override name = 'QueueFullError';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super('queue_full', `the node is busy (its inference queue is full); retry in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface Admission {
  /** Runs `fn` when a slot is free, or throws {@link QueueFullError} at once when the queue is full too. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  readonly concurrency: number;
  readonly running: number;
  readonly waiting: number;
}

/**
 * Bounded admission for inference: at most `concurrency` requests run, at most `queue` wait (in
 * arrival order); beyond that a request is refused at once (429 with Retry-After), and a waiting
 * request whose client goes away leaves the queue without taking a slot.
 *
 * @example
 * const admission = createAdmission({ concurrency: 4, queue: 64 });
 * const answer = await admission.run(() => infer(request), request.signal);
 */
export function createAdmission(o: { concurrency: number; queue: number; retryAfterSeconds?: number }): Admission {
  let running = 0;
  const waiting: Array<{ start: () => void; cancel: () => void }> = [];
  const next = () => {
    while (running < o.concurrency && waiting.length > 0) waiting.shift()!.start();
  };
  return {
    concurrency: o.concurrency,
    get running() {
      return running;
    },
    get waiting() {
      return waiting.length;
    },
    async run(fn, signal) {
      if (running >= o.concurrency) {
        if (waiting.length >= o.queue) throw new QueueFullError(o.retryAfterSeconds ?? 1);
        await new Promise<void>((resolve, reject) => {
          const entry = {
            start: () => {
              signal?.removeEventListener('abort', entry.cancel);
              resolve();
            },
            cancel: () => {
              const i = waiting.indexOf(entry);
              if (i >= 0) waiting.splice(i, 1);
              reject(new CodedError('cancelled', 'the client went away'));
            },
          };
          if (signal?.aborted) return entry.cancel();
          signal?.addEventListener('abort', entry.cancel, { once: true });
          waiting.push(entry);
        });
      }
      running++;
      try {
        return await fn();
      } finally {
        running--;
        next();
      }
    },
  };
}
