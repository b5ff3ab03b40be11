import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createPublicClient, createWalletClient, http, parseEther } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { startEmbeddedChain } from './embedded-chain.ts';
import { openTokenAbi, openTokenBytecode } from './generated/index.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'openledger-chain-'));
  dirs.push(d);
  return d;
}

function clients(url: string, mnemonic: string) {
  const account = mnemonicToAccount(mnemonic);
  const transport = http(url);
  const chain = { id: 31337, name: 'dev', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [url] } } } as const;
  return {
    account,
    pub: createPublicClient({ chain, transport }),
    wallet: createWalletClient({ account, chain, transport }),
  };
}

test('state survives a clean restart, including contract storage', async () => {
  const dir = tempDir();
  let chain = await startEmbeddedChain({ dataDir: dir, port: 0 });
  let c = clients(chain.url, chain.mnemonic);
  const hash = await c.wallet.deployContract({ abi: openTokenAbi, bytecode: openTokenBytecode, args: [c.account.address, parseEther('1000')] });
  const token = (await c.pub.waitForTransactionReceipt({ hash })).contractAddress!;
  const recipient = '0x00000000000000000000000000000000000000aa';
  await c.pub.waitForTransactionReceipt({
    hash: await c.wallet.writeContract({ address: token, abi: openTokenAbi, functionName: 'transfer', args: [recipient, 123n] }),
  });
  await c.pub.waitForTransactionReceipt({ hash: await c.wallet.sendTransaction({ to: recipient, value: 7n }) });
  const block = await c.pub.getBlock();
  await chain.stop();

  chain = await startEmbeddedChain({ dataDir: dir, port: 0 });
  c = clients(chain.url, chain.mnemonic);
  assert.equal(await c.pub.readContract({ address: token, abi: openTokenAbi, functionName: 'balanceOf', args: [recipient] }), 123n);
  assert.equal(await c.pub.getBalance({ address: recipient }), 7n);
  const again = await c.pub.getBlock();
  assert.equal(again.number, block.number);
  assert.equal(again.hash, block.hash);
  // and it keeps going
  await c.pub.waitForTransactionReceipt({ hash: await c.wallet.sendTransaction({ to: recipient, value: 1n }) });
  assert.equal(await c.pub.getBalance({ address: recipient }), 8n);
  await chain.stop();
});

for (const [snapshotEvery, replayed] of [[3, 2], [500, 5]] as const) {
test(`acknowledged transactions survive kill -9 (snapshot every ${snapshotEvery}: ${replayed} replayed)`, async () => {
  const dir = tempDir();
  // Run the chain in a child process, send transactions, then SIGKILL the child.
  const script = `
    import { startEmbeddedChain } from ${JSON.stringify(new URL('./embedded-chain.ts', import.meta.url).href)};
    const chain = await startEmbeddedChain({ dataDir: ${JSON.stringify(dir)}, port: 0, snapshotEvery: ${snapshotEvery} });
    process.stdout.write(JSON.stringify({ url: chain.url, mnemonic: chain.mnemonic }) + '\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<{ url: string; mnemonic: string }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  const c = clients(info.url, info.mnemonic);
  const recipient = '0x00000000000000000000000000000000000000bb';
  for (let i = 1; i <= 5; i++) {
    // 5 acknowledged transactions: with snapshotEvery 3 the last two are only in the journal
    await c.pub.waitForTransactionReceipt({ hash: await c.wallet.sendTransaction({ to: recipient, value: BigInt(i) }) });
  }
  const block = await c.pub.getBlock();
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const chain = await startEmbeddedChain({ dataDir: dir, port: 0 });
  const d = clients(chain.url, chain.mnemonic);
  assert.equal(chain.replayed, replayed);
  assert.equal(await d.pub.getBalance({ address: recipient }), 15n);
  const again = await d.pub.getBlock();
  assert.equal(again.number, block.number);
  assert.equal(again.hash, block.hash);
  await chain.stop();
});
}

test("a snapshot's new name is synced to disk (its directory fsynced) before the journal it replaces is emptied", async (t) => {
  const dir = tempDir();
  const log = join(dir, 'strace.log');
  const script = `
    import { createWalletClient, http } from 'viem';
    import { mnemonicToAccount } from 'viem/accounts';
    import { startEmbeddedChain } from ${JSON.stringify(new URL('./embedded-chain.ts', import.meta.url).href)};
    const chain = await startEmbeddedChain({ dataDir: ${JSON.stringify(join(dir, 'chain'))}, port: 0, snapshotEvery: 1 });
    const wallet = createWalletClient({ account: mnemonicToAccount(chain.mnemonic), transport: http(chain.url) });
    await wallet.sendTransaction({ to: '0x00000000000000000000000000000000000000bb', value: 1n, chain: null });
    await chain.stop();
  `;
  // the real calls, as the kernel sees them: strace follows every thread (libuv's pool renames)
  const child = spawn('strace', ['-f', '-qq', '-y', '-e', 'trace=rename,renameat,renameat2,fsync,ftruncate', '-o', log, process.execPath, '--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('exit', resolve);
  });
  if (code === -1) return t.skip('strace is not installed (scripts/install-test-deps.sh installs it)');
  if (code !== 0 && /ptrace|Operation not permitted/.test(stderr)) return t.skip(`strace cannot trace here: ${stderr.trim().split('\n')[0]}`);
  assert.equal(code, 0, stderr);
  const lines = readFileSync(log, 'utf8').split('\n');
  const chainDir = join(dir, 'chain');
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const escaped = chainDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const renamed = at(new RegExp(`rename.*${escaped}/snapshot\\.json"`));
  const synced = at(new RegExp(`fsync\\(\\d+<${escaped}>\\)`));
  const emptied = at(new RegExp(`ftruncate\\(\\d+<${escaped}/journal\\.jsonl>, 0\\)`));
  assert.ok(renamed >= 0 && synced >= 0 && emptied >= 0, `rename ${renamed}, directory fsync ${synced}, journal truncation ${emptied}:\n${lines.filter((l) => l.includes(chainDir)).join('\n')}`);
  assert.ok(renamed < synced && synced < emptied, `the order on disk: rename (line ${renamed}), directory fsync (line ${synced}), journal emptied (line ${emptied})`);
});

test('refuses calls that would fork the persisted history', async () => {
  const chain = await startEmbeddedChain({ dataDir: tempDir(), port: 0 });
  const res = await fetch(chain.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'evm_snapshot', params: [] }, { jsonrpc: '2.0', id: 2, method: 'eth_chainId', params: [] }]),
  });
  const [refused, ok] = (await res.json()) as { error?: { code: number; message: string }; result?: string }[];
  assert.equal(refused?.error?.code, -32601);
  assert.match(refused?.error?.message ?? '', /not available on the persistent embedded chain/);
  assert.equal(ok?.result, '0x7a69');
  await chain.stop();
});

test("outside development mode a local caller can read and send signed transactions, not administer the chain; a foreign Host gets nothing", async (t) => {
  const post = (url: string, method: string, params: unknown[] = []) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  /** A request with another Host header (fetch always sends the URL's). */
  const withHost = (url: string, host: string) => new Promise<number>((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { host, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.once('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }));
  });
  const someone = '0x00000000000000000000000000000000000000cc';
  const chain = await startEmbeddedChain({ dataDir: tempDir(), port: 0 });
  t.after(() => chain.stop());
  for (const [method, params] of [['anvil_impersonateAccount', [someone]], ['anvil_setStorageAt', [someone, '0x0', `0x${'11'.repeat(32)}`]], ['anvil_setBalance', [someone, '0x1']], ['evm_increaseTime', [60]], ['eth_sendTransaction', [{ to: someone }]]] as const) {
    const body = (await (await post(chain.url, method, [...params])).json()) as { error?: { message: string } };
    assert.match(body.error?.message ?? '', /only available in development mode/, method);
  }
  assert.equal(((await (await post(chain.url, 'eth_chainId')).json()) as { result: string }).result, '0x7a69');
  assert.equal(await withHost(chain.url, 'attacker.example:8545'), 403);
  assert.equal(await withHost(chain.url, 'localhost:8545'), 200);

  const dev = await startEmbeddedChain({ dataDir: tempDir(), port: 0, development: true });
  t.after(() => dev.stop());
  assert.equal(((await (await post(dev.url, 'evm_increaseTime', [60])).json()) as { error?: unknown }).error, undefined);
});
