/** A task run again and again in the background. */
export interface Repeater {
  /** Starts the loop (first run at once); a second call does nothing. */
  start(): void;
  /** Stops the loop and waits for a run in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Runs `task` now and then `intervalMs` after each run ends (runs never overlap), reporting
 * failures to `onError` and carrying on.
 *
 * @example
 * const loop = repeat(() => indexer.runOnce(), 1000, (err) => log(err));
 * loop.start();
 * await loop.stop();
 */
export function repeat(task: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void): Repeater {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = true;
  const tick = () => {
    running = task()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  return {
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
