import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ChainStartError } from './errors.ts';
import { callJsonRpc } from './json-rpc.ts';

/** Options of {@link startAnvil}. */
export interface AnvilOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  chainId?: number;
  /** BIP-39 mnemonic of the funded dev accounts. */
  mnemonic?: string;
  /** Number of funded dev accounts (default 10). */
  accounts?: number;
  /** ETH balance of each dev account (default 10000). */
  balance?: number;
  /** Timestamp (seconds) of the genesis block; default: now. */
  genesisTimestamp?: number;
  /** Run with the OP Stack chain type (default true); an L1 runs without it. */
  optimism?: boolean;
  /** EVM hardfork by name (`prague`, `cancun`, …); default: anvil's latest. An L1 that takes EIP-4844 blob transactions with blob proofs (not PeerDAS cell proofs) needs `prague` and `optimism: false`. */
  hardfork?: string;
}

/** A running anvil process. */
export interface AnvilProcess {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the process (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Finds the anvil binary: `$ANVIL_BIN`, else the platform package that `@foundry-rs/anvil`
 * installs from npm, else `anvil` on the PATH.
 */
export function anvilBinary(): string {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const require = createRequire(import.meta.url);
  try {
    const pkg = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`);
    const bin = pkg.replace(/package\.json$/, process.platform === 'win32' ? 'bin/anvil.exe' : 'bin/anvil');
    if (existsSync(bin)) return bin;
  } catch {
    // fall through to the PATH
  }
  return 'anvil';
}

/**
 * Starts anvil as a child process and resolves once it answers JSON-RPC.
 *
 * @example
 * const anvil = await startAnvil({ chainId: 31337 });
 * // … use anvil.url …
 * await anvil.stop();
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilProcess> {
  const host = options.host ?? '127.0.0.1';
  const args = [
    '--host', host,
    '--port', String(options.port ?? 0),
    '--chain-id', String(options.chainId ?? 31337),
    '--accounts', String(options.accounts ?? 10),
    '--balance', String(options.balance ?? 10000),
  ];
  if (options.mnemonic) args.push('--mnemonic', options.mnemonic);
  if (options.genesisTimestamp !== undefined) args.push('--timestamp', String(options.genesisTimestamp));
  if (options.optimism ?? true) args.push('--optimism');
  if (options.hardfork) args.push('--hardfork', options.hardfork);
  // Keep recent states in memory only: by default anvil writes every block's state under
  // ~/.foundry/anvil/tmp (gigabytes for a few thousand blocks) and runs slower as it grows.
  args.push('--prune-history', '256');

  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new ChainStartError(`anvil did not start within 20 s:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Listening on [^\s:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining so anvil never blocks on a full pipe
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new ChainStartError(`cannot run anvil (${anvilBinary()}): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new ChainStartError(`anvil exited with code ${code} before listening:\n${out}`));
    });
  });
  child.stderr?.resume();
  const url = `http://${host}:${port}`;
  await callJsonRpc<string>(url, 'eth_chainId');

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    port,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
