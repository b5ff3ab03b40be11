import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex, type Hex } from 'viem';
import { mnemonicToAccount, type HDAccount } from 'viem/accounts';

/** The CLI's entry point. */
export const BIN = fileURLToPath(new URL('../../bin/openledger.js', import.meta.url));

export interface Up {
  child: ChildProcess;
  apiUrl: string;
  rpcUrl: string;
  output: () => string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code once the node has exited; at once if it already has. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `openledger up` on `dataDir` with free ports (the API's `OPENLEDGER_PORT` in `env` if set; `env` over this process's) and waits
 * until it is up; `node` is the Node that runs the CLI's entry point (default this one).
 */
export async function up(dataDir: string, env: NodeJS.ProcessEnv = {}, node = process.execPath): Promise<Up> {
  // development mode: tests move the embedded chain's time and use its accounts, as `npm start` does;
  // every answer is checked against the API's contract
  const child = spawn(node, [BIN, 'up', '--data-dir', dataDir, '--port', env.OPENLEDGER_PORT ?? '0', '--rpc-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { OPENLEDGER_DEVELOPMENT: 'true', OPENLEDGER_CHECK_RESPONSES: 'true', ...process.env, ...env } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 'is up' within 60 s:\n${out}`)), 60_000);
    const check = () => {
      if (/Press Ctrl\+C/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`openledger up exited ${code}:\n${out}`));
    });
  });
  const apiUrl = /API\s+(http:\/\/\S+)/.exec(out)![1]!;
  const rpcUrl = /chain\s+(http:\/\/\S+)/.exec(out)![1]!;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return { child, apiUrl, rpcUrl, output: () => out, stop };
}


/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** What tests and benchmarks use of a node's data after `openledger demo --keep`. */
export interface DemoData {
  /** The questions the demo asked its published model (about facts its contributors contributed). */
  prompts: string[];
  /** Account `i` of the embedded chain's mnemonic, and its private key (for `OPENLEDGER_DEPLOYER_KEY`). */
  account(i: number): HDAccount;
  key(i: number): Hex;
}

/**
 * Runs `openledger demo --keep dataDir` (with `env` over this process's) and reads what it left:
 * its questions and the embedded chain's accounts. Throws with the demo's output if it fails.
 *
 * @example
 * const demo = await runDemo(dir);
 * const node = await up(dir);
 */
export async function runDemo(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<DemoData> {
  const { code, out } = await runCli(['demo', '--keep', dataDir], env);
  if (code !== 0) throw new Error(`openledger demo exited ${code}:\n${out}`);
  const prompts = [...out.matchAll(/infer --model \S+ --prompt ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]!) as string);
  if (prompts.length === 0) throw new Error(`openledger demo asked no question:\n${out}`);
  const mnemonic = readFileSync(join(dataDir, 'chain', 'mnemonic'), 'utf8').trim();
  const account = (i: number) => mnemonicToAccount(mnemonic, { addressIndex: i });
  return { prompts, account, key: (i) => toHex(account(i).getHdKey().privateKey!) };
}
