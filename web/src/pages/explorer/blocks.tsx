import { useRef } from 'react';
import { useQuery } from '@tanstack/react-query';
import { formatEther, type Block, type Transaction } from 'viem';
import { useAccount } from '../../account.tsx';
import { Card, Empty, Query, Short } from '../../components/states.tsx';
import { contractAt, functionCalled } from './contracts.ts';

type FullBlock = Block<bigint, true, 'latest'>;

const BLOCKS = 10;
const TXS = 25;

/**
 * The last blocks of the node's chain with their transactions, polled every few seconds. Blocks
 * already read are kept, except the two newest, which are read again (a reorg replaces them).
 */
function useRecentBlocks(intervalMs = 3000) {
  const { publicClient, status } = useAccount();
  const cache = useRef(new Map<bigint, FullBlock>());
  return useQuery({
    queryKey: ['explorer', 'blocks', status?.chain.id],
    enabled: !!publicClient,
    refetchInterval: intervalMs,
    queryFn: async (): Promise<FullBlock[]> => {
      const head = await publicClient!.getBlockNumber({ cacheTime: 0 });
      const numbers: bigint[] = [];
      for (let n = head; n >= 0n && numbers.length < BLOCKS; n--) numbers.push(n);
      const blocks = await Promise.all(numbers.map(async (n) => {
        const known = cache.current.get(n);
        if (known && head - n >= 2n) return known;
        const block = (await publicClient!.getBlock({ blockNumber: n, includeTransactions: true })) as FullBlock;
        cache.current.set(n, block);
        return block;
      }));
      for (const n of cache.current.keys()) if (n < head - BigInt(BLOCKS) || n > head) cache.current.delete(n);
      return blocks;
    },
  });
}

const time = (seconds: bigint) => new Date(Number(seconds) * 1000).toLocaleString();

/** Recent blocks and transactions of the node's chain, read through its RPC. */
export function RecentBlocks() {
  const blocks = useRecentBlocks();
  return (
    <Query q={blocks} what="Reading the latest blocks">
      {(bs) => (
        <>
          <Card title="Recent blocks">
            {bs.length === 0 ? <Empty>The chain has no blocks yet.</Empty> : (
              <table data-testid="explorer-blocks">
                <thead><tr><th>block</th><th>time</th><th>transactions</th><th>gas used</th><th>hash</th></tr></thead>
                <tbody>
                  {bs.map((b) => (
                    <tr key={b.hash} data-testid="explorer-block">
                      <td data-testid="explorer-block-number">{b.number.toString()}</td>
                      <td>{time(b.timestamp)}</td>
                      <td>{b.transactions.length}</td>
                      <td>{b.gasUsed.toLocaleString('en')}</td>
                      <td><Short value={b.hash} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </Card>
          <RecentTransactions blocks={bs} />
        </>
      )}
    </Query>
  );
}

/** The transactions of the given blocks, newest first, named by the protocol contract and function they call. */
function RecentTransactions({ blocks }: { blocks: FullBlock[] }) {
  const { status } = useAccount();
  const txs: Transaction[] = blocks.flatMap((b) => [...b.transactions].reverse()).slice(0, TXS);
  return (
    <Card title="Recent transactions">
      {txs.length === 0 ? <Empty>No transactions in the last {blocks.length} blocks. Act on another page (create a datanet, deposit, vote) and they appear here.</Empty> : (
        <table data-testid="explorer-txs">
          <thead><tr><th>block</th><th>hash</th><th>from</th><th>to</th><th>call</th><th>value</th></tr></thead>
          <tbody>
            {txs.map((tx) => {
              const contract = contractAt(status?.contracts, tx.to);
              const fn = functionCalled(contract, tx.input);
              return (
                <tr key={tx.hash} data-testid="explorer-tx">
                  <td>{tx.blockNumber?.toString() ?? 'pending'}</td>
                  <td><Short value={tx.hash} /></td>
                  <td><Short value={tx.from} chars={4} /></td>
                  <td>{tx.to === null ? 'contract creation' : contract ? <span title={tx.to}>{contract}</span> : <Short value={tx.to} chars={4} />}</td>
                  <td data-testid="explorer-tx-call">{fn ?? (tx.input === '0x' ? 'transfer' : tx.input.slice(0, 10))}</td>
                  <td>{tx.value > 0n ? `${formatEther(tx.value)} ETH` : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Card>
  );
}
