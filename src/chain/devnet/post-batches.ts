import { existsSync, readFileSync } from 'node:fs';
import { numberToHex, toBlobs, type Address, type Hex } from 'viem';
import writeFileAtomic from 'write-file-atomic';
import type { ChainClients } from '../clients.ts';
import { callJsonRpc } from '../json-rpc.ts';
import { blobKzg } from '../kzg.ts';
import { encodeChannel, framesOf, type SingularBatch } from './batch-encoding.ts';
import { BridgeTransactionError } from './deposit-open.ts';

/** The last L2 block a batcher has posted. */
export interface BatchCursor {
  load(): bigint | undefined;
  save(l2BlockNumber: bigint): Promise<void>;
}

/**
 * A batch cursor in a JSON file, replaced atomically on every save.
 *
 * @example
 * const cursor = fileBatchCursor('.openledger/devnet/batches.cursor.json');
 */
export function fileBatchCursor(path: string): BatchCursor {
  return {
    load: () => (existsSync(path) ? BigInt((JSON.parse(readFileSync(path, 'utf8')) as { l2BlockNumber: string }).l2BlockNumber) : undefined),
    save: (n) => writeFileAtomic(path, JSON.stringify({ l2BlockNumber: n.toString() })),
  };
}

/** What {@link postBatches} works with. */
export interface Batcher {
  /** The L1, signing as the batcher (SystemConfig's batcherHash). */
  l1: ChainClients;
  l2Url: string;
  /** Where batches go (SystemConfig's batchInbox). */
  batchInbox: Address;
  cursor: BatchCursor;
  /** L2 blocks one blob transaction carries at most (default 100). */
  maxBlocks?: number;
}

/** One posted batch: the L2 blocks it carries and the blob transaction on L1. */
export interface PostedBatch {
  fromBlock: bigint;
  toBlock: bigint;
  transactionHash: Hex;
  blobVersionedHashes: readonly Hex[];
}

interface RpcBlock {
  number: Hex;
  parentHash: Hex;
  timestamp: Hex;
  transactions: { hash: Hex; type: Hex }[];
}

/**
 * Posts the L2 blocks after the cursor to L1 as one EIP-4844 blob transaction to the batch inbox:
 * each block a singular batch (its L2 transactions, deposits left out), in a zlib channel framed as
 * the OP Stack frames it, in blobs (viem's blob encoding, KZG by c-kzg). The epoch of every batch is
 * the L1 head when posting (the development L2 has no L1 origins). Moves the cursor after the
 * transaction is mined; a crash between the two posts the same blocks again, which a reader of the
 * inbox skips as already seen. Returns undefined when there is no new block.
 *
 * @example
 * const posted = await postBatches({ l1: batcherClients, l2Url, batchInbox, cursor });
 */
export async function postBatches(b: Batcher): Promise<PostedBatch | undefined> {
  const head = BigInt(await callJsonRpc<Hex>(b.l2Url, 'eth_blockNumber'));
  const fromBlock = (b.cursor.load() ?? 0n) + 1n;
  if (fromBlock > head) return undefined;
  const toBlock = head - fromBlock + 1n > BigInt(b.maxBlocks ?? 100) ? fromBlock + BigInt(b.maxBlocks ?? 100) - 1n : head;
  const epoch = await b.l1.publicClient.getBlock({ blockTag: 'latest' });
  const batches: SingularBatch[] = [];
  for (let n = fromBlock; n <= toBlock; n++) {
    const block = await callJsonRpc<RpcBlock>(b.l2Url, 'eth_getBlockByNumber', [numberToHex(n), true]);
    const transactions: Hex[] = [];
    for (const tx of block.transactions) {
      if (tx.type === '0x7e') continue;
      transactions.push(await callJsonRpc<Hex>(b.l2Url, 'eth_getRawTransactionByHash', [tx.hash]));
    }
    batches.push({ parentHash: block.parentHash, epochNumber: epoch.number, epochHash: epoch.hash, timestamp: BigInt(block.timestamp), transactions });
  }
  const blobs = toBlobs({ data: framesOf(encodeChannel(batches)), to: 'hex' });
  const { publicClient, walletClient, account } = b.l1;
  const hash = await walletClient.sendTransaction({
    account, chain: walletClient.chain, to: b.batchInbox, blobs, kzg: blobKzg(),
    maxFeePerBlobGas: 2n * (await publicClient.getBlobBaseFee()),
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: 120_000 });
  if (receipt.status !== 'success') throw new BridgeTransactionError(`batch blob transaction ${hash} failed`);
  const tx = await publicClient.getTransaction({ hash });
  await b.cursor.save(toBlock);
  return { fromBlock, toBlock, transactionHash: hash, blobVersionedHashes: tx.blobVersionedHashes ?? [] };
}
