import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { erc20Abi, getAddress, parseEther, parseEventLogs, type Abi, type Address } from 'viem';
import { getL2TransactionHash } from 'viem/op-stack';
import { callJsonRpc } from '../json-rpc.ts';
import { L1_BLOCK_ADDRESS } from '../profiles.ts';
import { depositOpen } from './deposit-open.ts';
import { opArtifact } from './op-artifacts.ts';
import { fileCursor } from './relay-cursor.ts';
import { relayDeposits, transactionDepositedEvent } from './relay-deposits.ts';
import { startTestDevnet, type TestDevnet } from './test-devnet.ts';

const DEPOSITOR_ACCOUNT = '0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001';

describe('deposits from L1 to L2 (OptimismPortal → relay → deposit transactions)', () => {
  let d: TestDevnet;
  let dir: string;
  before(async () => {
    d = await startTestDevnet();
    dir = mkdtempSync(join(tmpdir(), 'relay-'));
  });
  after(async () => {
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = async (cursorFile = join(dir, 'cursor.json')) =>
    relayDeposits({ l1: (await d.l1Clients(0)).publicClient, l2Url: d.l2.url, portal: d.l1Addresses.optimismPortal, fromBlock: d.l1StartBlock, cursor: fileCursor(cursorFile) });
  const read = async (i: 1 | 2, address: Address, abi: Abi, functionName: string, args: unknown[] = []) =>
    (await (i === 1 ? d.l1Clients(0) : d.l2Clients(0))).publicClient.readContract({ address, abi, functionName, args });

  it('sets OPEN as the gas paying token on both sides: SystemConfig and the portal on L1, L1Block on L2 through the system deposit', async () => {
    const open = d.l1Addresses.openToken;
    assert.deepEqual(await read(1, d.l1Addresses.systemConfig, opArtifact('SystemConfig').abi, 'gasPayingToken'), [open, 18]);
    assert.equal(await read(2, L1_BLOCK_ADDRESS, opArtifact('L1Block').abi, 'isCustomGasToken'), false);
    const relayed = await run();
    assert.equal(relayed.length, 1);
    assert.equal(relayed[0]!.from, getAddress(DEPOSITOR_ACCOUNT));
    assert.equal(relayed[0]!.to, getAddress(L1_BLOCK_ADDRESS));
    assert.equal(relayed[0]!.mint, 0n);
    assert.deepEqual(await read(2, L1_BLOCK_ADDRESS, opArtifact('L1Block').abi, 'gasPayingToken'), [open, 18]);
    assert.equal(await read(2, L1_BLOCK_ADDRESS, opArtifact('L1Block').abi, 'isCustomGasToken'), true);
    assert.equal(await read(2, L1_BLOCK_ADDRESS, opArtifact('L1Block').abi, 'gasPayingTokenSymbol'), 'OPEN');
  });

  it('turns an OPEN deposit on L1 into exactly as much native OPEN on L2, as a type 0x7e transaction whose hash is the OP Stack\'s', async () => {
    const l1 = await d.l1Clients(1);
    const recipient = '0x00000000000000000000000000000000000a11ce';
    const amount = parseEther('5.000000000000000123');
    // dev account 1 has no OPEN on L1 yet: the treasury (account 0) sends it some
    const admin = await d.l1Clients(0);
    await admin.publicClient.waitForTransactionReceipt({ hash: await admin.walletClient.writeContract({ address: d.l1Addresses.openToken, abi: erc20Abi, functionName: 'transfer', args: [l1.account.address, parseEther('100')] }) });
    const portalBefore = await read(1, d.l1Addresses.openToken, erc20Abi, 'balanceOf', [d.l1Addresses.optimismPortal]) as bigint;
    const receipt = await depositOpen(l1, d.l1Addresses, { to: recipient, amount });
    assert.equal(await read(1, d.l1Addresses.openToken, erc20Abi, 'balanceOf', [l1.account.address]), parseEther('100') - amount);
    assert.equal(await read(1, d.l1Addresses.openToken, erc20Abi, 'balanceOf', [d.l1Addresses.optimismPortal]), portalBefore + amount);
    assert.equal(await read(1, d.l1Addresses.optimismPortal, opArtifact('OptimismPortal').abi, 'balance'), portalBefore + amount);

    const l2 = (await d.l2Clients(0)).publicClient;
    const senderBefore = await l2.getBalance({ address: l1.account.address });
    const [relayed] = await run();
    assert.ok(relayed?.sent);
    assert.equal(await l2.getBalance({ address: recipient }), amount);
    // mint = value: the depositor's L2 balance is where it was (a deposit pays no L2 gas)
    assert.equal(await l2.getBalance({ address: l1.account.address }), senderBefore);
    const [log] = parseEventLogs({ abi: [transactionDepositedEvent], logs: receipt.logs });
    assert.equal(relayed.hash, getL2TransactionHash({ log: log as never }));
    const tx = await callJsonRpc<{ type: string; mint: string; sourceHash: string; hash: string }>(d.l2.url, 'eth_getTransactionByHash', [relayed.hash]);
    assert.equal(tx.type, '0x7e');
    assert.equal(BigInt(tx.mint), amount);
    assert.equal(tx.sourceHash, relayed.sourceHash);
  });

  it('after a crash between sending and recording, a rerun applies nothing twice', async () => {
    const l1 = await d.l1Clients(1);
    const recipient = '0x00000000000000000000000000000000000b0b00';
    await depositOpen(l1, d.l1Addresses, { to: recipient, amount: 7n });
    await depositOpen(l1, d.l1Addresses, { to: recipient, amount: 11n });
    const cursorFile = join(dir, 'cursor.json');
    const rewound = fileCursor(cursorFile).load();
    const first = await run();
    assert.deepEqual(first.map((r) => [r.mint, r.sent]), [[7n, true], [11n, true]]);
    const l2 = (await d.l2Clients(0)).publicClient;
    assert.equal(await l2.getBalance({ address: recipient }), 18n);
    // the crash: both deposits sent, the cursor never moved past them
    await fileCursor(cursorFile).save(rewound!);
    const again = await run();
    assert.deepEqual(again.map((r) => [r.mint, r.sent]), [[7n, false], [11n, false]]);
    assert.equal(await l2.getBalance({ address: recipient }), 18n);
    assert.deepEqual(await run(), []);
  });

  it('a deposit whose call reverts on L2 still mints: the OPEN stays with the depositor, as on the OP Stack', async () => {
    const l1 = await d.l1Clients(1);
    const l2 = (await d.l2Clients(0)).publicClient;
    const before = await l2.getBalance({ address: l1.account.address });
    // L1Block has no fallback: a call with unknown data reverts
    await depositOpen(l1, d.l1Addresses, { to: L1_BLOCK_ADDRESS, amount: 13n, data: '0xdeadbeef' });
    const [relayed] = await run();
    assert.equal((await l2.getTransactionReceipt({ hash: relayed!.hash })).status, 'reverted');
    assert.equal(await l2.getBalance({ address: l1.account.address }), before + 13n);
    assert.equal(await l2.getBalance({ address: L1_BLOCK_ADDRESS }), 0n);
  });
});
