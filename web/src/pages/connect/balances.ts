import { useQuery } from '@tanstack/react-query';
import type { Address } from 'viem';
import { inferenceEscrowAbi } from '../../../../src/chain/generated/index.ts';
import { readOpenBalance } from '../../open-coin.ts';
import { useAccount } from '../../account.tsx';

/** What an account holds: OPEN in its wallet, its escrow deposit (and a pending withdrawal), the native coin for gas (OPEN itself where OPEN is native). */
export interface Balances {
  open: bigint;
  escrow: bigint;
  withdrawal: { amount: bigint; unlockAt: bigint };
  eth: bigint;
}

/**
 * An account's balances read from the node's chain; refreshed every few seconds and whenever a
 * page invalidates `['balances']` after a transaction.
 */
export function useBalances(address: Address | undefined) {
  const { publicClient, status } = useAccount();
  return useQuery({
    queryKey: ['balances', address, status?.chain.id],
    enabled: !!publicClient && !!status && !!address,
    refetchInterval: 5000,
    queryFn: async (): Promise<Balances> => {
      const c = status!.contracts, pc = publicClient!, account = address!;
      const [open, escrow, withdrawal, eth] = await Promise.all([
        readOpenBalance(pc, status!, account),
        pc.readContract({ address: c.inferenceEscrow, abi: inferenceEscrowAbi, functionName: 'balanceOf', args: [account] }),
        pc.readContract({ address: c.inferenceEscrow, abi: inferenceEscrowAbi, functionName: 'withdrawalOf', args: [account] }),
        pc.getBalance({ address: account }),
      ]);
      return { open, escrow, withdrawal, eth };
    },
  });
}

/** The OPEN balance of each of several accounts (the development accounts), in one query. */
export function useOpenBalances(addresses: Address[]) {
  const { publicClient, status } = useAccount();
  return useQuery({
    queryKey: ['balances', 'open', addresses, status?.chain.id],
    enabled: !!publicClient && !!status && addresses.length > 0,
    refetchInterval: 10_000,
    queryFn: () => Promise.all(addresses.map((a) => readOpenBalance(publicClient!, status!, a))),
  });
}
