import { parseAbiItem, type Address, type Hex, type PublicClient } from 'viem';
import { ChainError } from '../errors.ts';
import { callJsonRpc } from '../json-rpc.ts';
import { depositTransactionOf, type DepositTransaction } from './deposit-transaction.ts';
import { isAfter, type RelayCursor } from './relay-cursor.ts';

/** The OptimismPortal's deposit event (what the rollup node derives deposit transactions from). */
export const transactionDepositedEvent = parseAbiItem('event TransactionDeposited(address indexed from, address indexed to, uint256 indexed version, bytes opaqueData)');

/** Where {@link relayDeposits} reads deposits and where it applies them. */
export interface DepositRelay {
  /** The L1 (any client that reads logs). */
  l1: Pick<PublicClient, 'getBlockNumber' | 'getLogs'>;
  /** The L2's JSON-RPC URL; it must take deposit transactions (the embedded chain in development mode). */
  l2Url: string;
  portal: Address;
  /** The first L1 block to read (the portal's deployment). */
  fromBlock: bigint;
  cursor: RelayCursor;
}

/** A deposit transaction the L2 took but did not mine in time. */
export class DepositNotMinedError extends ChainError {
  override name = 'DepositNotMinedError';
}

/** Waits until the L2 has mined `hash` (anvil answers a raw transaction before it mines it). */
async function minedOnL2(l2Url: string, hash: Hex, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await callJsonRpc<unknown>(l2Url, 'eth_getTransactionReceipt', [hash]))) {
    if (Date.now() > deadline) throw new DepositNotMinedError(`deposit transaction ${hash} was not mined on L2 within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A deposit applied on L2. */
export interface RelayedDeposit extends DepositTransaction {
  l1BlockNumber: bigint;
  l1LogIndex: number;
  /** False when the L2 already had the transaction (sent before a crash, recorded after). */
  sent: boolean;
}

/**
 * Applies on L2 every deposit the portal emitted since the cursor, in L1 order, each as its deposit
 * transaction (type 0x7e, `mint` = the OPEN the portal took), and moves the cursor past each. Crash
 * safe without a transaction: a deposit transaction's hash is fixed by its L1 log, so one the L2
 * already has (sent, then a crash before the cursor moved) is not sent again, and nothing is minted
 * twice. Each is mined before the cursor moves past it. Assumes the L1 does not reorganise (a local development L1).
 *
 * @example
 * const relayed = await relayDeposits({ l1: l1.publicClient, l2Url, portal, fromBlock: 0n, cursor: fileCursor(path) });
 */
export async function relayDeposits(relay: DepositRelay): Promise<RelayedDeposit[]> {
  const position = relay.cursor.load();
  const head = await relay.l1.getBlockNumber({ cacheTime: 0 });
  const fromBlock = position ? position.blockNumber : relay.fromBlock;
  if (fromBlock > head) return [];
  const logs = await relay.l1.getLogs({ address: relay.portal, event: transactionDepositedEvent, fromBlock, toBlock: head });
  logs.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  const relayed: RelayedDeposit[] = [];
  for (const log of logs) {
    const at = { blockNumber: log.blockNumber, logIndex: log.logIndex };
    if (!isAfter(at, position)) continue;
    const tx = depositTransactionOf({ ...log.args, blockHash: log.blockHash, blockNumber: log.blockNumber, logIndex: log.logIndex } as Parameters<typeof depositTransactionOf>[0]);
    const known = await callJsonRpc<unknown>(relay.l2Url, 'eth_getTransactionByHash', [tx.hash]);
    if (!known) await callJsonRpc<Hex>(relay.l2Url, 'eth_sendRawTransaction', [tx.raw]);
    await minedOnL2(relay.l2Url, tx.hash);
    await relay.cursor.save(at);
    relayed.push({ ...tx, l1BlockNumber: log.blockNumber, l1LogIndex: log.logIndex, sent: !known });
  }
  return relayed;
}
