import { getContract, type Address } from 'viem';
import type { ChainClients } from './clients.ts';
import {
  attributionSettlementAbi,
  datanetRegistryAbi,
  inferenceEscrowAbi,
  modelRegistryAbi,
  openGovernorAbi,
  openTimelockAbi,
  openTokenAbi,
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
}

/** The ABI of each protocol contract, by its name in {@link ProtocolAddresses}. */
export const protocolAbis = {
  openToken: openTokenAbi,
  timelock: openTimelockAbi,
  governor: openGovernorAbi,
  staking: stakingAbi,
  datanetRegistry: datanetRegistryAbi,
  modelRegistry: modelRegistryAbi,
  inferenceEscrow: inferenceEscrowAbi,
  attributionSettlement: attributionSettlementAbi,
} as const;

export type ProtocolContractName = keyof typeof protocolAbis;

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
    governor: getContract({ address: addresses.governor, abi: openGovernorAbi, client }),
    staking: getContract({ address: addresses.staking, abi: stakingAbi, client }),
    datanetRegistry: getContract({ address: addresses.datanetRegistry, abi: datanetRegistryAbi, client }),
    modelRegistry: getContract({ address: addresses.modelRegistry, abi: modelRegistryAbi, client }),
    inferenceEscrow: getContract({ address: addresses.inferenceEscrow, abi: inferenceEscrowAbi, client }),
    attributionSettlement: getContract({ address: addresses.attributionSettlement, abi: attributionSettlementAbi, client }),
  };
}

export type ProtocolContracts = ReturnType<typeof protocolContracts>;
