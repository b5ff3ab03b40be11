import { getContract, type Abi, type Address } from 'viem';
import type { ChainClients } from './clients.ts';
import {
  attributionSettlementAbi,
  datanetRegistryAbi,
  inferenceEscrowAbi,
  modelRegistryAbi,
  openGovernorAbi,
  openTimelockAbi,
  openTokenAbi,
  operatorRegistryAbi,
  stakingAbi,
} from './generated/index.ts';

/** Addresses of one deployment of the protocol. */
export interface ProtocolAddresses {
  openToken: Address;
  timelock: Address;
  governor: Address;
  staking: Address;
  datanetRegistry: Address;
  modelRegistry: Address;
  inferenceEscrow: Address;
  attributionSettlement: Address;
  operatorRegistry: Address;
}

/**
 * Adds to `abi` the custom errors of the contracts it calls, so that a revert that bubbles up from
 * them (an escrow error raised through `postEpoch`, a token error raised through `stake`) is decoded
 * by name instead of showing as a bare selector.
 */
function withErrorsOf<A extends Abi>(abi: A, ...callees: Abi[]): A {
  const seen = new Set(abi.flatMap((item) => (item.type === 'error' ? [item.name] : [])));
  const extra: Abi[number][] = [];
  for (const item of callees.flat()) {
    if (item.type === 'error' && !seen.has(item.name)) {
      seen.add(item.name);
      extra.push(item);
    }
  }
  return [...abi, ...extra] as unknown as A; // the extra errors decode at run time; the type keeps the contract's own
}

/** The ABI of each protocol contract, by its name in {@link ProtocolAddresses}, with the errors of its callees. */
export const protocolAbis = {
  openToken: openTokenAbi,
  timelock: openTimelockAbi,
  governor: withErrorsOf(openGovernorAbi, openTimelockAbi),
  staking: withErrorsOf(stakingAbi, datanetRegistryAbi, openTokenAbi),
  datanetRegistry: withErrorsOf(datanetRegistryAbi, stakingAbi, openTokenAbi),
  modelRegistry: modelRegistryAbi,
  inferenceEscrow: withErrorsOf(inferenceEscrowAbi, openTokenAbi),
  attributionSettlement: withErrorsOf(attributionSettlementAbi, inferenceEscrowAbi, stakingAbi, openTokenAbi),
  operatorRegistry: operatorRegistryAbi,
} as const;

export type ProtocolContractName = keyof typeof protocolAbis;

/**
 * Each protocol contract's address and ABI by name: what the event indexer decodes logs with.
 *
 * @example
 * const indexer = createIndexer({ client, chainId, contracts: indexedContracts(addresses), sink });
 */
export function indexedContracts(addresses: ProtocolAddresses): Record<ProtocolContractName, { address: Address; abi: Abi }> {
  return Object.fromEntries((Object.keys(protocolAbis) as ProtocolContractName[]).map((n) => [n, { address: addresses[n], abi: protocolAbis[n] as Abi }])) as Record<ProtocolContractName, { address: Address; abi: Abi }>;
}

/**
 * Typed contract handles (viem `getContract`) for a deployment, reading through the public client
 * and writing through the wallet client.
 *
 * @example
 * const p = protocolContracts(clients, addresses);
 * const supply = await p.openToken.read.totalSupply();
 */
export function protocolContracts(clients: Pick<ChainClients, 'publicClient' | 'walletClient'>, addresses: ProtocolAddresses) {
  const client = { public: clients.publicClient, wallet: clients.walletClient };
  return {
    openToken: getContract({ address: addresses.openToken, abi: openTokenAbi, client }),
    timelock: getContract({ address: addresses.timelock, abi: openTimelockAbi, client }),
    governor: getContract({ address: addresses.governor, abi: protocolAbis.governor, client }),
    staking: getContract({ address: addresses.staking, abi: protocolAbis.staking, client }),
    datanetRegistry: getContract({ address: addresses.datanetRegistry, abi: protocolAbis.datanetRegistry, client }),
    modelRegistry: getContract({ address: addresses.modelRegistry, abi: modelRegistryAbi, client }),
    inferenceEscrow: getContract({ address: addresses.inferenceEscrow, abi: protocolAbis.inferenceEscrow, client }),
    attributionSettlement: getContract({ address: addresses.attributionSettlement, abi: protocolAbis.attributionSettlement, client }),
    operatorRegistry: getContract({ address: addresses.operatorRegistry, abi: operatorRegistryAbi, client }),
  };
}

export type ProtocolContracts = ReturnType<typeof protocolContracts>;
