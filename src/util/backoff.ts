/**
 * Which keys failed and when each may be tried again: the delay doubles with each failure
 * (`baseMs`, 2 × `baseMs`, … up to `maxMs`) and a success forgets the key. The decision only:
 * callers run the work and report back.
 *
 * @example
 * const backoff = createBackoff({ baseMs: 10_000, maxMs: 3_600_000 });
 * if (backoff.due('datanet:7')) try { await anchor(7); backoff.succeeded('datanet:7'); } catch { backoff.failed('datanet:7'); }
 */
export function createBackoff(o: { baseMs: number; maxMs: number; now?: () => number }): Backoff {
  const now = o.now ?? Date.now;
  const state = new Map<string, { attempts: number; nextAt: number }>();
  return {
    due: (key) => (state.get(key)?.nextAt ?? 0) <= now(),
    failed(key) {
      const attempts = (state.get(key)?.attempts ?? 0) + 1;
      const nextAt = now() + Math.min(o.maxMs, o.baseMs * 2 ** (attempts - 1));
      state.set(key, { attempts, nextAt });
      return { attempts, nextAt };
    },
    succeeded: (key) => void state.delete(key),
    failing: () => [...state.keys()],
  };
}

export interface Backoff {
  /** Whether `key` may be tried now (never failed, or its delay has passed). */
  due(key: string): boolean;
  /** Records a failure; returns the failures so far and when the key is next due (ms since the epoch). */
  failed(key: string): { attempts: number; nextAt: number };
  succeeded(key: string): void;
  /** The keys whose last attempt failed. */
  failing(): string[];
}
