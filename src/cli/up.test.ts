import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseEther, type Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { connectChain } from '../chain/clients.ts';
import { protocolContracts, type ProtocolAddresses } from '../chain/protocol.ts';
import { runCli, up } from './test-node.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'openledger-up-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function status(apiUrl: string) {
  return (await (await fetch(`${apiUrl}/status`)).json()) as { chain: { blockNumber: string }; contracts: ProtocolAddresses; indexer: { blockNumber: string } };
}

test('openledger up: deploys once, keeps state across kill -9 and a clean stop', { timeout: 180_000 }, async () => {
  // First start: deploys the protocol.
  let node = await up(dataDir);
  assert.match(node.output(), /deploy: attributionSettlement/);
  const first = await status(node.apiUrl);
  const account = mnemonicToAccount(readFileSync(join(dataDir, 'chain', 'mnemonic'), 'utf8').trim());
  let clients = await connectChain(node.rpcUrl, account);
  let p = protocolContracts(clients, first.contracts);
  const friend: Address = '0x000000000000000000000000000000000000f00d';
  // OPEN is the chain's native coin: wrap 42 (a plain transfer to WOPEN) and send the WOPEN, a token transfer the indexer sees
  await clients.publicClient.waitForTransactionReceipt({ hash: await clients.walletClient.sendTransaction({ to: p.openToken.address, value: parseEther('42') }) });
  await clients.publicClient.waitForTransactionReceipt({ hash: await p.openToken.write.transfer([friend, parseEther('42')]) });

  // kill -9: nothing acknowledged may be lost.
  await node.stop('SIGKILL');

  node = await up(dataDir);
  assert.doesNotMatch(node.output(), /deploy:/, 'a restart does not redeploy');
  const second = await status(node.apiUrl);
  assert.deepEqual(second.contracts, first.contracts);
  clients = await connectChain(node.rpcUrl, account);
  p = protocolContracts(clients, second.contracts);
  assert.equal(await p.openToken.read.balanceOf([friend]), parseEther('42'));
  // The indexer caught the transfer, before or after the crash.
  await new Promise((r) => setTimeout(r, 1500));
  const events = (await (await fetch(`${node.apiUrl}/chain/events?contract=openToken&event=Transfer&limit=5`)).json()) as {
    events: { args: { to: string; value: string } }[];
  };
  assert.ok(events.events.some((e) => e.args.to.toLowerCase() === friend && e.args.value === parseEther('42').toString()));

  // A clean stop exits 0, and state is still there after it.
  assert.equal(await node.stop(), 0);
  node = await up(dataDir);
  clients = await connectChain(node.rpcUrl, account);
  p = protocolContracts(clients, first.contracts);
  assert.equal(await p.openToken.read.balanceOf([friend]), parseEther('42'));
  await node.stop();
});

test('bad input exits non-zero with a clear message', async () => {
  const run = (args: string[]) => runCli(args);
  const badPort = await run(['up', '--port', 'http']);
  assert.notEqual(badPort.code, 0);
  assert.match(badPort.out, /--port.*must be a port number/);
  const unknown = await run(['frobnicate']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.out, /unknown command 'frobnicate'/);
  const noKey = await run(['up', '--rpc-url', 'http://127.0.0.1:1', '--data-dir', join(dataDir, 'x')]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.out, /needs the node's account key \(OPENLEDGER_DEPLOYER_KEY\)/);
  const joinAlone = await run(['up', '--join', 'http://127.0.0.1:1', '--data-dir', join(dataDir, 'x')]);
  assert.equal(joinAlone.code, 2);
  assert.match(joinAlone.out, /joining a network \(--join\) needs its chain \(--rpc-url/);
  const noNode = await run(['status', '--api', 'http://127.0.0.1:1']);
  assert.equal(noNode.code, 2);
  assert.match(noNode.out, /no node answers at http:\/\/127\.0\.0\.1:1/);
  const help = await run(['up', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--rpc-url <url>/);
});

/** A Node too old to strip types (the machine's Node 20, say), which re-runs the CLI with the project's Node. */
const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => {
  const r = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  const [major = 0, minor = 0] = (r.stdout ?? '').trim().split('.').map(Number);
  return r.status === 0 && (major < 22 || (major === 22 && minor < 18));
});

test('started by an older Node, openledger up still stops cleanly on SIGTERM (the wrapper forwards it)', { skip: oldNode ? false : 'no Node older than 22.18 on this machine', timeout: 180_000 }, async () => {
  const node = await up(join(dataDir, 'started-by-an-older-node'), {}, oldNode);
  assert.equal(await node.stop('SIGTERM'), 0);
  assert.match(node.output(), /SIGTERM: stopping/);
  await assert.rejects(fetch(`${node.apiUrl}/health`), 'the node doing the work stopped too');
});
