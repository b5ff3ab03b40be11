import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { startDevnet } from '../chain/devnet/devnet.ts';

function portArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

/**
 * `openledger devnet`: the L1 + L2 development network (an L1 with the OP Stack contracts and OPEN
 * as an ERC-20, the L2 with OPEN as its native coin, and the bridge service between them) until
 * Ctrl+C. Composition only: the work is in `chain/devnet/`.
 */
export function devnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('start an L1 + L2 development network: OPEN on an L1 bridged to the L2 where it pays gas, with deposits, output roots and withdrawals (openledger up alone is faster: one chain)')
    .option('--data-dir <dir>', 'where both chains and the bridge keep their state', join('.openledger', 'devnet'))
    .option('--l1-port <port>', 'port of the L1 JSON-RPC endpoint (0 picks one)', portArg, 8546)
    .option('--l2-port <port>', 'port of the L2 JSON-RPC endpoint (0 picks one)', portArg, 9545)
    .option('--host <host>', 'interface of both endpoints', '127.0.0.1')
    .action(async (o: { dataDir: string; l1Port: number; l2Port: number; host: string }) => {
      const started = Date.now();
      const signalled = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });
      const devnet = await startDevnet({ dataDir: o.dataDir, l1Port: o.l1Port, l2Port: o.l2Port, host: o.host, log: (m) => console.log(`  ${m}`) });
      console.log(`\nopenledger devnet is up (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      console.log(`  L1         ${devnet.l1.url}   chain id ${devnet.l1.chainId}   OPEN (ERC-20) ${devnet.l1Addresses.openToken}`);
      console.log(`  L2         ${devnet.l2.url}   chain id ${devnet.l2.chainId}   OPEN is the native coin`);
      console.log(`  portal     ${devnet.l1Addresses.optimismPortal}   (depositERC20Transaction to bridge OPEN to L2)`);
      console.log(`  oracle     ${devnet.l1Addresses.l2OutputOracle}`);
      console.log(`  accounts   mnemonics in ${join(o.dataDir, 'l1', 'mnemonic')} and ${join(o.dataDir, 'l2', 'mnemonic')}; all of this in ${join(o.dataDir, 'devnet.json')}`);
      console.log('Press Ctrl+C to stop.');
      console.log(`\n${await signalled}: stopping…`);
      await devnet.stop();
    });
}
