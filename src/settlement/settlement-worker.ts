import { formatEther } from 'viem';
import { drawEarly } from './draw-early.ts';
import { runEpoch, type SettlementNode } from './epoch.ts';

/**
 * Runs the epoch job every `everySeconds` (and once at start, which finishes an epoch a crash left
 * prepared), and every `withdrawalCheckSeconds` (60) draws the served usage of consumers who asked
 * to withdraw or whose authorisation is about to expire. One job at a time; failures are reported and retried at the next tick.
 *
 * @example
 * const worker = startSettlementWorker(node, { everySeconds: 3600, log: console.log });
 * await worker.stop();
 */
export function startSettlementWorker(node: SettlementNode, o: { everySeconds: number; withdrawalCheckSeconds?: number; log: (line: string) => void }): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const queue = (job: () => Promise<void>) => {
    running = running.then(job).catch((err: unknown) => o.log(`settlement: ${(err as Error).message.split('\n')[0]}`));
  };
  const epoch = () => queue(async () => {
    const out = await runEpoch(node, o.log);
    if (out.kind === 'posted') o.log(`settlement: epoch ${out.epoch} posted (${out.receipts} receipts, ${formatEther(out.funded)} OPEN drawn, root ${out.root})`);
  });
  const withdrawals = () => queue(async () => void (await drawEarly(node, o.log)));
  epoch();
  const timers = [
    o.everySeconds > 0 ? setInterval(epoch, o.everySeconds * 1000) : null,
    setInterval(withdrawals, (o.withdrawalCheckSeconds ?? 60) * 1000),
  ];
  for (const t of timers) t?.unref();
  return {
    async stop() {
      for (const t of timers) if (t) clearInterval(t);
      await running;
    },
  };
}
