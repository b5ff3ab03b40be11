import type { Hex } from 'viem';
import type { EventSink, IndexedEvent } from '../chain/indexer.ts';
import type { Database, Queryable } from './database.ts';

const CURSOR = 'protocol';

/** JSON with bigints as decimal strings (event arguments are full of uint256). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Keeps part of a module's tables in step with the chain (owners, curators, prices): it
 * recomputes, from `chain_events`, what the events just stored touch, in the transaction that
 * stores them. Recomputing from every stored event rather than applying each one makes it
 * independent of order and of how the indexer cut its batches; after a reorg it recomputes all.
 */
export interface ChainProjection {
  /** `events`: the events just stored; `undefined`: recompute everything (after a rewind). */
  project(tx: Queryable, chainId: number, events: IndexedEvent[] | undefined): Promise<void>;
}

/**
 * What a projection recomputes: the distinct values of `key` among the `events` of `contract`
 * named in `names` (empty: nothing it keeps was touched), or null after a rewind (`events`
 * undefined: everything).
 *
 * @example
 * const ids = touchedKeys(events, 'modelRegistry', new Set(['PriceSet']), 'modelId'); // ['3'] | [] | null
 */
export function touchedKeys(events: IndexedEvent[] | undefined, contract: string, names: ReadonlySet<string>, key: string): string[] | null {
  if (!events) return null;
  return [...new Set(events.filter((e) => e.contract === contract && names.has(e.event)).map((e) => String(e.args[key])))];
}

/**
 * The store side of the event indexer: events in `chain_events`, the cursor in `indexer_cursors`,
 * and what the `projections` keep of them, written together in one transaction.
 *
 * @example
 * const indexer = createIndexer({ client, chainId, contracts, sink: chainEventSink(db, [datanetProjection]) });
 */
export function chainEventSink(db: Database, projections: ChainProjection[] = []): EventSink {
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
        if (events.length > 0) for (const p of projections) await p.project(tx, chainId, events);
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
        for (const p of projections) await p.project(tx, chainId, undefined);
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

/**
 * The arguments of the latest indexed event of each of `events` of `contract` (by block and log
 * index), as stored (numbers as decimal strings); an event never seen is absent.
 *
 * @example
 * const { FeeSplitSet } = await latestEventArgs(db, 31337, 'attributionSettlement', ['FeeSplitSet']);
 */
export async function latestEventArgs(db: Queryable, chainId: number, contract: string, events: string[]): Promise<Record<string, Record<string, unknown>>> {
  const rows = await db.query<{ event: string; args: Record<string, unknown> }>(
    `select distinct on (event) event, args from chain_events where chain_id = $1 and contract = $2 and event = any($3)
     order by event, block_number desc, log_index desc`,
    [chainId, contract, events],
  );
  return Object.fromEntries(rows.map((r) => [r.event, r.args]));
}

/**
 * The distinct values of one argument over the indexed `event`s of `contract` (e.g. every address
 * that ever staked as an operator), in no particular order; `where` keeps the events whose
 * arguments include these values.
 *
 * @example
 * const operators = await distinctEventArgs(db, 31337, 'staking', 'Staked', 'staker', { role: 0 });
 */
export async function distinctEventArgs(db: Queryable, chainId: number, contract: string, event: string, arg: string, where: Record<string, unknown> = {}): Promise<string[]> {
  const rows = await db.query<{ value: string }>(
    'select distinct args->>$4 as value from chain_events where chain_id = $1 and contract = $2 and event = $3 and args ? $4 and args @> $5::jsonb',
    [chainId, contract, event, arg, toJson(where)],
  );
  return rows.map((r) => r.value);
}
