import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { erc20Abi, parseEther, type Abi, type Address } from 'viem';
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { connectChain, type ChainClients } from '../chain/clients.ts';
import type { L1Addresses } from '../chain/devnet/deploy-l1.ts';
import { depositOpen } from '../chain/devnet/deposit-open.ts';
import { opArtifact } from '../chain/devnet/op-artifacts.ts';
import { withdrawOpen } from '../chain/devnet/withdraw-open.ts';
import { BIN } from './test-node.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'openledger-devnet-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function devnet() {
  const child = spawn(process.execPath, [BIN, 'devnet', '--data-dir', dataDir, '--l1-port', '0', '--l2-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`devnet not up within 90 s:\n${out}`)), 90_000);
    child.stdout.on('data', () => /Press Ctrl\+C/.test(out) && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`openledger devnet exited ${code}:\n${out}`))));
  });
  const info = JSON.parse(readFileSync(join(dataDir, 'devnet.json'), 'utf8')) as { l1: { url: string }; l2: { url: string }; l1Addresses: L1Addresses };
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return { ...info, output: () => out, kill: async (signal: NodeJS.Signals) => (child.kill(signal), exited) };
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${String(v)} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('openledger devnet: deposit, withdraw, batches as blobs, kill -9 of both chains and the bridge, state and balances intact, nothing relayed twice', { timeout: 240_000 }, async () => {
  let d = await devnet();
  assert.match(d.output(), /l1 deploy: OptimismPortal\b/);
  const treasury = mnemonicToAccount(readFileSync(join(dataDir, 'l1', 'mnemonic'), 'utf8').trim());
  const user = privateKeyToAccount(generatePrivateKey());
  const target: Address = privateKeyToAccount(generatePrivateKey()).address;
  let l1: ChainClients = await connectChain(d.l1.url, treasury, { pollingInterval: 50 });
  let l2: ChainClients = await connectChain(d.l2.url, user, { pollingInterval: 50 });
  const l1Open = (a: Address) => l1.publicClient.readContract({ address: d.l1Addresses.openToken, abi: erc20Abi, functionName: 'balanceOf', args: [a] });
  const locked = () => l1.publicClient.readContract({ address: d.l1Addresses.optimismPortal, abi: opArtifact('OptimismPortal').abi as Abi, functionName: 'balance' }) as Promise<bigint>;
  const l2Balance = () => l2.publicClient.getBalance({ address: user.address });

  await depositOpen(l1, d.l1Addresses, { to: user.address, amount: parseEther('5') });
  await until('the deposit on L2', l2Balance, (b) => b === parseEther('5'));
  const first = await withdrawOpen(l2, { target, amount: parseEther('2') });
  await until('the withdrawal paid on L1', () => l1Open(target), (b) => b === parseEther('2'));
  await until('a batch posted to L1', async () => d.output(), (o) => /batcher: L2 blocks 1–\d+ posted to L1 in 1 blob/.test(o), 60_000);
  // a second withdrawal, started just before the crash: proven and paid after the restart
  const second = await withdrawOpen(l2, { target, amount: parseEther('1') });
  const fees = [first, second].reduce((s, w) => s + w.receipt.gasUsed * w.receipt.effectiveGasPrice, 0n);
  assert.equal(await l2Balance(), parseEther('2') - fees);

  const postedAtKill = BigInt((JSON.parse(readFileSync(join(dataDir, 'batches.cursor.json'), 'utf8')) as { l2BlockNumber: string }).l2BlockNumber);
  await d.kill('SIGKILL');
  d = await devnet();
  assert.doesNotMatch(d.output(), /l1 deploy:/, 'a restart does not redeploy');
  l1 = await connectChain(d.l1.url, treasury, { pollingInterval: 50 });
  l2 = await connectChain(d.l2.url, user, { pollingInterval: 50 });
  assert.equal(await l2Balance(), parseEther('2') - fees);
  await until('the second withdrawal paid on L1', () => l1Open(target), (b) => b === parseEther('3'), 60_000);
  assert.equal(await locked(), parseEther('2'));
  // a deposit after the restart: relayed once, and no earlier one again
  await depositOpen(l1, d.l1Addresses, { to: user.address, amount: parseEther('0.5') });
  await until('the new deposit on L2', l2Balance, (b) => b === parseEther('2.5') - fees);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await l2Balance(), parseEther('2.5') - fees);
  assert.equal(await locked(), parseEther('2.5'));
  // the batcher goes on after the last block it recorded as posted (a batch sent as the process
  // was killed, not yet recorded, is posted again), not from the start
  const next = await until('a batch posted after the restart', async () => /batcher: L2 blocks (\d+)–/.exec(d.output())?.[1], (v) => v !== undefined, 60_000);
  assert.ok(BigInt(next!) > 1n && BigInt(next!) <= postedAtKill + 1n, `the first batch after the restart starts at ${next}; ${postedAtKill} was recorded before the crash`);
  assert.equal(await d.kill('SIGTERM'), 0);
});
