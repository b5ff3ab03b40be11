import { formatEther } from 'viem';
import { runEpoch, type SettlementNode } from './epoch.ts';

/**
 * Runs the epoch job every `everySeconds` (and once at start, which finishes an epoch a crash left
 * prepared). Failures are reported and retried at the next tick.
 *
 * @example
 * const worker = startSettlementWorker(node, { everySeconds: 3600, log: console.log });
 * await worker.stop();
 */
export function startSettlementWorker(node: SettlementNode, o: { everySeconds: number; log: (line: string) => void }): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = running.then(async () => {
      try {
        const out = await runEpoch(node, o.log);
        if (out.kind === 'posted') o.log(`settlement: epoch ${out.epoch} posted (${out.receipts} receipts, ${formatEther(out.funded)} OPEN drawn, root ${out.root})`);
      } catch (err) {
        o.log(`settlement: ${(err as Error).message.split('\n')[0]}`);
      }
    });
  };
  tick();
  const timer = o.everySeconds > 0 ? setInterval(tick, o.everySeconds * 1000) : null;
  timer?.unref();
  return {
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
