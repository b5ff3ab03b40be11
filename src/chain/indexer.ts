import { decodeEventLog, type Abi, type Address, type Hex, type Log, type PublicClient } from 'viem';
import { createLock } from '../util/lock.ts';
import { repeat, type Repeater } from '../util/repeat.ts';

/** A decoded protocol event. */
export interface IndexedEvent {
  blockNumber: bigint;
  blockHash: Hex;
  txHash: Hex;
  logIndex: number;
  /** The contract's name, e.g. `datanetRegistry`. */
  contract: string;
  address: Address;
  event: string;
  args: Record<string, unknown>;
}

/** Where the indexer's position is kept. */
export interface IndexerCursor {
  blockNumber: bigint;
  blockHash: Hex;
}

/** Where the indexer writes: events and cursor must be stored atomically. */
export interface EventSink {
  cursor(chainId: number): Promise<IndexerCursor | undefined>;
  /** Stores `events` (idempotently) and moves the cursor to `to`, in one transaction. */
  write(chainId: number, events: IndexedEvent[], to: IndexerCursor): Promise<void>;
  /** Forgets events after `blockNumber` and moves the cursor back (after a reorg). */
  rewind(chainId: number, to: IndexerCursor | undefined): Promise<void>;
}

/** Options of {@link createIndexer}. */
export interface IndexerOptions {
  client: PublicClient;
  chainId: number;
  /** The contracts to index, by name. */
  contracts: Record<string, { address: Address; abi: Abi }>;
  sink: EventSink;
  /** Blocks behind the head considered final (0 on the embedded chain). */
  confirmations?: number;
  /** Blocks per eth_getLogs call (default 2,000). */
  batchBlocks?: number;
  /** First block to index when there is no cursor (default 0). */
  fromBlock?: bigint;
  /** Milliseconds between polls when running in the background (default 1,000). */
  pollMs?: number;
  onError?: (err: unknown) => void;
}

/** A running or runnable indexer. */
export interface Indexer extends Repeater {
  /** Indexes up to the current head; returns the number of events stored. */
  runOnce(): Promise<number>;
}

/**
 * Indexes the protocol's events into a sink (the store): reads logs in block ranges, decodes them
 * with the contracts' ABIs and stores each range with the cursor atomically, so a crash never loses
 * or duplicates an event. If the block at the cursor changed hash (a reorg), it rewinds.
 *
 * @example
 * const indexer = createIndexer({ client, chainId, contracts, sink: chainEventStore(db) });
 * await indexer.runOnce();
 */
export function createIndexer(options: IndexerOptions): Indexer {
  const { client, chainId, sink } = options;
  const confirmations = BigInt(options.confirmations ?? 0);
  const batch = BigInt(options.batchBlocks ?? 2000);
  const byAddress = new Map<string, { name: string; abi: Abi }>();
  for (const [name, c] of Object.entries(options.contracts)) byAddress.set(c.address.toLowerCase(), { name, abi: c.abi });
  const addresses = Object.values(options.contracts).map((c) => c.address);

  const decode = (log: Log): IndexedEvent | undefined => {
    const c = byAddress.get(log.address.toLowerCase());
    if (!c || log.blockNumber === null || log.blockHash === null || log.transactionHash === null || log.logIndex === null) return undefined;
    try {
      const decoded = decodeEventLog({ abi: c.abi, data: log.data, topics: log.topics });
      return {
        blockNumber: log.blockNumber,
        blockHash: log.blockHash,
        txHash: log.transactionHash,
        logIndex: log.logIndex,
        contract: c.name,
        address: log.address,
        event: decoded.eventName ?? 'unknown',
        args: (decoded.args ?? {}) as Record<string, unknown>,
      };
    } catch {
      return undefined; // an event of an inherited interface not in the ABI
    }
  };

  // one run at a time: the loop's and a caller's runs would otherwise store ranges out of order
  const exclusive = createLock();
  const runOnce = () => exclusive(run);

  async function run(): Promise<number> {
    let cursor = await sink.cursor(chainId);
    if (cursor) {
      const block = await client.getBlock({ blockNumber: cursor.blockNumber }).catch(() => undefined);
      if (!block || block.hash !== cursor.blockHash) {
        const back = cursor.blockNumber > confirmations + 1n ? cursor.blockNumber - confirmations - 1n : 0n;
        const anchor = back > 0n ? await client.getBlock({ blockNumber: back }).catch(() => undefined) : undefined;
        cursor = anchor?.hash ? { blockNumber: back, blockHash: anchor.hash } : undefined;
        await sink.rewind(chainId, cursor);
      }
    }
    const head = (await client.getBlockNumber({ cacheTime: 0 })) - confirmations;
    let from = cursor ? cursor.blockNumber + 1n : (options.fromBlock ?? 0n);
    let stored = 0;
    while (from <= head) {
      const to = from + batch - 1n < head ? from + batch - 1n : head;
      const [logs, toBlock] = await Promise.all([
        client.getLogs({ address: addresses, fromBlock: from, toBlock: to }),
        client.getBlock({ blockNumber: to }),
      ]);
      const events = logs.map(decode).filter((e): e is IndexedEvent => e !== undefined);
      await sink.write(chainId, events, { blockNumber: to, blockHash: toBlock.hash });
      stored += events.length;
      from = to + 1n;
    }
    return stored;
  }

  const loop = repeat(runOnce, options.pollMs ?? 1000, (err) => options.onError?.(err));
  return { runOnce, start: loop.start, stop: loop.stop };
}
