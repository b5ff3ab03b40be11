import { CodedError } from '../util/coded-error.ts';

/** Refused: the caller has as many event streams open as it may; 429 with Retry-After. */
export class TooManyStreamsError extends CodedError {
  override name = 'TooManyStreamsError';
  readonly retryAfterSeconds = 5;
  constructor(limit: number) {
    super('too_many_streams', `this address has ${limit} event streams open on this node, the most it may; close one, or retry in 5 s`);
  }
}

/** Counts the long-lived streams each caller holds open. */
export interface StreamLimit {
  /** Opens one for `caller` (throws {@link TooManyStreamsError} beyond the limit); call the result once it closes. */
  open(caller: string): () => void;
}

/**
 * At most `perCaller` streams open at once from one caller (its address as the server sees it,
 * behind `trustProxy` the forwarded one): a caller cannot hold the node's connections and polling
 * loops open without bound.
 *
 * @example
 * const close = streams.open(request.ip);
 * request.raw.on('close', close);
 */
export function createStreamLimit(perCaller: number): StreamLimit {
  const open = new Map<string, number>();
  return {
    open(caller) {
      const n = open.get(caller) ?? 0;
      if (n >= perCaller) throw new TooManyStreamsError(perCaller);
      open.set(caller, n + 1);
      let closed = false;
      return () => {
        if (closed) return;
        closed = true;
        const left = (open.get(caller) ?? 1) - 1;
        if (left > 0) open.set(caller, left);
        else open.delete(caller);
      };
    },
  };
}
