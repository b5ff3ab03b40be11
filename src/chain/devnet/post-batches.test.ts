import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fromBlobs, numberToHex, parseEther, type Hex } from 'viem';
import { callJsonRpc } from '../json-rpc.ts';
import { decodeBatcherData } from './batch-encoding.ts';
import { postBatches, type BatchCursor } from './post-batches.ts';
import { memoryCursor } from './relay-cursor.ts';
import { relayDeposits } from './relay-deposits.ts';
import { startTestDevnet, type TestDevnet } from './test-devnet.ts';

let d: TestDevnet;
before(async () => {
  d = await startTestDevnet();
});
after(async () => {
  await d?.stop();
});

test('L2 blocks posted to L1 as blobs: the blob transaction goes to the batch inbox, and its blobs decode to every block\'s parent, time and transactions, deposits left out', { timeout: 300_000 }, async () => {
  const l2 = await d.l2Clients(1);
  // block 1: the system deposit (a deposit transaction: derived from L1, so no batch carries it)
  const [system] = await relayDeposits({ l1: (await d.l1Clients(0)).publicClient, l2Url: d.l2.url, portal: d.l1Addresses.optimismPortal, fromBlock: d.l1StartBlock, cursor: memoryCursor() });
  assert.equal((await l2.publicClient.getTransactionReceipt({ hash: system!.hash })).blockNumber, 1n);
  const sent: Hex[] = [];
  for (let i = 0; i < 3; i++) {
    const hash = await l2.walletClient.sendTransaction({ to: '0x000000000000000000000000000000000000beef', value: parseEther('0.001') * BigInt(i + 1) });
    await l2.publicClient.waitForTransactionReceipt({ hash });
    sent.push(await callJsonRpc<Hex>(d.l2.url, 'eth_getRawTransactionByHash', [hash]));
  }
  let position: bigint | undefined;
  const cursor: BatchCursor = { load: () => position, save: async (n) => void (position = n) };
  const l1 = await d.l1Clients(1);
  const posted = await postBatches({ l1, l2Url: d.l2.url, batchInbox: d.params.batchInbox, cursor, maxBlocks: 100 });
  assert.ok(posted);
  const head = await l2.publicClient.getBlockNumber();
  assert.deepEqual([posted.fromBlock, posted.toBlock, position], [1n, head, head]);
  const tx = await l1.publicClient.getTransaction({ hash: posted.transactionHash });
  assert.equal(tx.to, d.params.batchInbox);
  assert.equal(tx.type, 'eip4844');
  assert.ok(posted.blobVersionedHashes.length >= 1);

  const blobs: Hex[] = [];
  for (const h of posted.blobVersionedHashes) blobs.push(await callJsonRpc<Hex>(d.l1.url, 'anvil_getBlobByHash', [h]));
  const batches = decodeBatcherData(fromBlobs({ blobs, to: 'bytes' }));
  assert.equal(BigInt(batches.length), head);
  for (let n = 1n; n <= head; n++) {
    const block = await callJsonRpc<{ parentHash: Hex; timestamp: Hex }>(d.l2.url, 'eth_getBlockByNumber', [numberToHex(n), false]);
    assert.equal(batches[Number(n) - 1]!.parentHash, block.parentHash);
    assert.equal(batches[Number(n) - 1]!.timestamp, BigInt(block.timestamp));
  }
  assert.deepEqual(batches.flatMap((b) => b.transactions), sent);
  assert.equal(await postBatches({ l1, l2Url: d.l2.url, batchInbox: d.params.batchInbox, cursor }), undefined, 'nothing new: nothing posted');
});
