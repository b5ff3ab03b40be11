import { useQuery } from '@tanstack/react-query';
import type { Address } from 'viem';
import { protocolAbis } from '../../../../src/chain/protocol.ts';
import { useAccount } from '../../account.tsx';
import type { GovClock } from './chain.ts';
import { readGovParams } from './params.ts';
import { fetchProposals } from './proposals.ts';

/** Reads {@link GovClock}, refreshed every few seconds. */
export function useGovClock() {
  const { publicClient, status } = useAccount();
  const governor = status?.contracts.governor;
  return useQuery({
    queryKey: ['gov-clock', governor],
    enabled: !!publicClient && !!governor,
    refetchInterval: 5000,
    queryFn: async (): Promise<GovClock> => {
      const address = governor as Address;
      const [mode, now, block] = await Promise.all([
        publicClient!.readContract({ address, abi: protocolAbis.governor, functionName: 'CLOCK_MODE' }),
        publicClient!.readContract({ address, abi: protocolAbis.governor, functionName: 'clock' }),
        publicClient!.getBlock({ blockTag: 'latest' }),
      ]);
      return { mode: mode.includes('timestamp') ? 'timestamp' : 'blocknumber', now: BigInt(now), block: block.number, timestamp: block.timestamp };
    },
  });
}

/** The parameters in force (query key `['gov-params']`, refreshed after executions). */
export function useGovParams() {
  const { publicClient, status } = useAccount();
  return useQuery({
    queryKey: ['gov-params', status?.contracts.attributionSettlement],
    enabled: !!publicClient && !!status,
    queryFn: () => readGovParams(publicClient!, status!.contracts),
  });
}

/** The proposals, re-read every few seconds (the indexer adds new ones within a second or so). */
export function useProposals() {
  return useQuery({ queryKey: ['gov-proposals'], queryFn: fetchProposals, refetchInterval: 5000 });
}
