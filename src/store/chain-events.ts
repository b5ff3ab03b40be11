import type { Hex } from 'viem';
import type { EventSink, IndexedEvent } from '../chain/indexer.ts';
import type { Database } from './database.ts';

const CURSOR = 'protocol';

/** JSON with bigints as decimal strings (event arguments are full of uint256). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * The store side of the event indexer: events in `chain_events`, the cursor in `indexer_cursors`,
 * written together in one transaction.
 *
 * @example
 * const indexer = createIndexer({ client, chainId, contracts, sink: chainEventSink(db) });
 */
export function chainEventSink(db: Database): EventSink {
  return {
    async cursor(chainId) {
      const [row] = await db.query<{ block_number: string; block_hash: string }>(
        'select block_number, block_hash from indexer_cursors where chain_id = $1 and name = $2',
        [chainId, CURSOR],
      );
      return row ? { blockNumber: BigInt(row.block_number), blockHash: row.block_hash as Hex } : undefined;
    },
    async write(chainId, events, to) {
      await db.transaction(async (tx) => {
        for (const e of events) {
          await tx.query(
            `insert into chain_events (chain_id, block_number, block_hash, tx_hash, log_index, contract, address, event, args)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (chain_id, tx_hash, log_index) do nothing`,
            [chainId, e.blockNumber.toString(), e.blockHash, e.txHash, e.logIndex, e.contract, e.address, e.event, toJson(e.args)],
          );
        }
        await tx.query(
          `insert into indexer_cursors (chain_id, name, block_number, block_hash) values ($1, $2, $3, $4)
           on conflict (chain_id, name) do update set block_number = excluded.block_number,
             block_hash = excluded.block_hash, updated_at = now()`,
          [chainId, CURSOR, to.blockNumber.toString(), to.blockHash],
        );
      });
    },
    async rewind(chainId, to) {
      await db.transaction(async (tx) => {
        await tx.query('delete from chain_events where chain_id = $1 and block_number > $2', [chainId, (to?.blockNumber ?? -1n).toString()]);
        if (to) {
          await tx.query('update indexer_cursors set block_number = $3, block_hash = $4, updated_at = now() where chain_id = $1 and name = $2', [
            chainId, CURSOR, to.blockNumber.toString(), to.blockHash,
          ]);
        } else {
          await tx.query('delete from indexer_cursors where chain_id = $1 and name = $2', [chainId, CURSOR]);
        }
      });
    },
  };
}

/** One stored event, as the API returns it. */
export interface StoredEvent extends Omit<IndexedEvent, 'blockNumber'> {
  id: string;
  blockNumber: string;
}

/** Filters of {@link listChainEvents}. */
export interface ChainEventQuery {
  chainId: number;
  contract?: string;
  event?: string;
  /** Return events with id below this (pagination, newest first). */
  before?: bigint;
  limit: number;
}

/**
 * Lists indexed events, newest first, with keyset pagination on the id.
 *
 * @example
 * const page = await listChainEvents(db, { chainId: 31337, contract: 'datanetRegistry', limit: 50 });
 */
export async function listChainEvents(db: Database, q: ChainEventQuery): Promise<StoredEvent[]> {
  const where = ['chain_id = $1'];
  const params: unknown[] = [q.chainId];
  if (q.contract) where.push(`contract = $${params.push(q.contract)}`);
  if (q.event) where.push(`event = $${params.push(q.event)}`);
  if (q.before !== undefined) where.push(`id < $${params.push(q.before.toString())}`);
  const rows = await db.query<{
    id: string; block_number: string; block_hash: string; tx_hash: string; log_index: number;
    contract: string; address: string; event: string; args: Record<string, unknown>;
  }>(
    `select id, block_number, block_hash, tx_hash, log_index, contract, address, event, args from chain_events
     where ${where.join(' and ')} order by id desc limit $${params.push(q.limit)}`,
    params,
  );
  return rows.map((r) => ({
    id: r.id,
    blockNumber: r.block_number,
    blockHash: r.block_hash as Hex,
    txHash: r.tx_hash as Hex,
    logIndex: r.log_index,
    contract: r.contract,
    address: r.address as `0x${string}`,
    event: r.event,
    args: r.args,
  }));
}
