/**
 * Measures the development network's deposit latency (decision 0031): from an L1 deposit's receipt to
 * the OPEN on L2, with the bridge service polling every 500 ms and every 100 ms, and the time one
 * round of the service takes with one deposit waiting. Runs with `npm run bench -- chain` (after bench/chain.ts), or `node bench/chain-deposits.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { startDevnet } from '../src/chain/devnet/devnet.ts';
import { depositOpen } from '../src/chain/devnet/deposit-open.ts';

for (const pollMs of [500, 100]) {
  const dir = mkdtempSync(join(tmpdir(), 'lat-'));
  const devnet = await startDevnet({ dataDir: dir, pollMs });
  const lat: number[] = [];
  for (let i = 0; i < 10; i++) {
    const to = privateKeyToAccount(generatePrivateKey()).address;
    await depositOpen(devnet.l1Clients, devnet.l1Addresses, { to, amount: parseEther('1') });
    const t0 = performance.now();
    while ((await devnet.l2Clients.publicClient.getBalance({ address: to })) === 0n) await new Promise((r) => setTimeout(r, 5));
    lat.push(performance.now() - t0);
  }
  lat.sort((a, b) => a - b);
  // the relay's own work for one deposit: a tick with one deposit waiting, no poll loop
  await devnet.stop();
  const d2 = await startDevnet({ dataDir: dir, pollMs: 0 });
  const own: number[] = [];
  for (let i = 0; i < 10; i++) {
    const to = privateKeyToAccount(generatePrivateKey()).address;
    await depositOpen(d2.l1Clients, d2.l1Addresses, { to, amount: parseEther('1') });
    const t0 = performance.now();
    await d2.tick();
    own.push(performance.now() - t0);
  }
  own.sort((a, b) => a - b);
  await d2.stop();
  rmSync(dir, { recursive: true, force: true });
  console.log(`pollMs ${pollMs}: deposit receipt on L1 → balance on L2: median ${lat[5]!.toFixed(0)} ms, min ${lat[0]!.toFixed(0)}, max ${lat[9]!.toFixed(0)}; one tick relaying one deposit (+ propose): median ${own[5]!.toFixed(0)} ms, min ${own[0]!.toFixed(0)}, max ${own[9]!.toFixed(0)}`);
}
