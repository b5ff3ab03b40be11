import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { keccak256, parseEther, type Hex } from 'viem';
import { serializeTransaction } from 'viem/op-stack';
import { startEmbeddedChain } from './embedded-chain.ts';
import { callJsonRpc, postJsonRpc } from './json-rpc.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// An OP Stack deposit transaction (type 0x7e) has no signature and mints its `mint` to its `from`:
// anvil's OP chain type takes one raw, so the embedded chain lets only development mode (where the
// devnet's relay sends them) through, and journals it like any transaction.
const depositor = '0x00000000000000000000000000000000000d0d00';
const deposit = (n: number): Hex =>
  serializeTransaction({ type: 'deposit', sourceHash: keccak256(`0x0${n}`), from: depositor, to: depositor, mint: parseEther('3'), value: 0n, gas: 100_000n, data: '0x', isSystemTx: false });

test('outside development mode a raw deposit transaction is refused; in development mode it mints, and survives a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openledger-chain-'));
  dirs.push(dir);
  let chain = await startEmbeddedChain({ dataDir: dir, port: 0 });
  try {
    const res = await postJsonRpc(chain.url, { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [deposit(1)] });
    assert.match(res.error?.message ?? '', /deposit transactions \(type 0x7e/);
    assert.equal(BigInt(await callJsonRpc<Hex>(chain.url, 'eth_getBalance', [depositor, 'latest'])), 0n);
  } finally {
    await chain.stop();
  }
  chain = await startEmbeddedChain({ dataDir: dir, port: 0, development: true });
  try {
    await callJsonRpc(chain.url, 'eth_sendRawTransaction', [deposit(2)]);
    assert.equal(BigInt(await callJsonRpc<Hex>(chain.url, 'eth_getBalance', [depositor, 'latest'])), parseEther('3'));
  } finally {
    await chain.stop();
  }
  chain = await startEmbeddedChain({ dataDir: dir, port: 0 });
  try {
    assert.equal(BigInt(await callJsonRpc<Hex>(chain.url, 'eth_getBalance', [depositor, 'latest'])), parseEther('3'));
  } finally {
    await chain.stop();
  }
});
