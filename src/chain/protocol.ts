import { getContract, type Abi, type Address } from 'viem';
import type { ChainClients } from './clients.ts';
import {
  agentAccountAbi,
  agentRegistryAbi,
  attributionSettlementAbi,
  dataAvailabilityChallengeAbi,
  datanetRegistryAbi,
  eRC6551RegistryAbi as erc6551RegistryAbi,
  inferenceEscrowAbi,
  modelRegistryAbi,
  openGovernorAbi,
  openTimelockAbi,
  governanceOpenAbi,
  openTokenAbi,
  operatorRegistryAbi,
  reputationRegistryAbi,
  skillCallRootsAbi,
  skillRegistryAbi,
  stakingAbi,
  validationRegistryAbi,
} from './generated/index.ts';

/** Addresses of one deployment of the protocol. */
export interface ProtocolAddresses {
  /** OPEN as the ERC-20 the contracts hold: the OPEN token, or WOPEN where OPEN is the native coin. */
  openToken: Address;
  /** What governance votes with: the OPEN token itself, or GOPEN where OPEN is the native coin. */
  governanceToken: Address;
  timelock: Address;
  governor: Address;
  staking: Address;
  datanetRegistry: Address;
  modelRegistry: Address;
  /** Bonded challenges of anchored batches' data availability (decision 0029). */
  dataAvailabilityChallenge: Address;
  inferenceEscrow: Address;
  attributionSettlement: Address;
  operatorRegistry: Address;
  /** ERC-8004 identity registry of agents (ERC-721), which creates each agent's ERC-6551 account. */
  agentRegistry: Address;
  /** Skills listed by agents, with their bonds. */
  skillRegistry: Address;
  /** The ERC-6551 registry the agents' accounts are created by. */
  erc6551Registry: Address;
  /** The AgentAccount code every agent's account (an ERC-1167 proxy) delegates to. */
  agentAccountImplementation: Address;
  /** Each operator epoch's call root (the skill calls it settles), and the fraud proofs against them. */
  skillCallRoots: Address;
  /** ERC-8004 reputation registry: feedback on agents, each for a paid skill call. */
  reputationRegistry: Address;
  /** ERC-8004 validation registry: agents' work checked by staked validators. */
  validationRegistry: Address;
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
  /** GOPEN's ABI: on a chain where OPEN is an ERC-20, the token itself answers all but deposit and withdraw. */
  governanceToken: withErrorsOf(governanceOpenAbi, openTokenAbi),
  timelock: openTimelockAbi,
  governor: withErrorsOf(openGovernorAbi, openTimelockAbi),
  staking: withErrorsOf(stakingAbi, datanetRegistryAbi, openTokenAbi),
  datanetRegistry: withErrorsOf(datanetRegistryAbi, stakingAbi, openTokenAbi),
  modelRegistry: modelRegistryAbi,
  dataAvailabilityChallenge: withErrorsOf(dataAvailabilityChallengeAbi, datanetRegistryAbi, openTokenAbi),
  inferenceEscrow: withErrorsOf(inferenceEscrowAbi, openTokenAbi),
  attributionSettlement: withErrorsOf(attributionSettlementAbi, inferenceEscrowAbi, stakingAbi, openTokenAbi),
  operatorRegistry: operatorRegistryAbi,
  agentRegistry: withErrorsOf(agentRegistryAbi, erc6551RegistryAbi),
  skillRegistry: withErrorsOf(skillRegistryAbi, agentRegistryAbi, openTokenAbi),
  erc6551Registry: erc6551RegistryAbi,
  /** Also the ABI of every agent's account (each a proxy to this implementation). */
  agentAccountImplementation: withErrorsOf(agentAccountAbi, openTokenAbi),
  skillCallRoots: withErrorsOf(skillCallRootsAbi, attributionSettlementAbi, stakingAbi, openTokenAbi),
  reputationRegistry: withErrorsOf(reputationRegistryAbi, agentRegistryAbi, skillCallRootsAbi),
  validationRegistry: withErrorsOf(validationRegistryAbi, agentRegistryAbi),
} as const;

export type ProtocolContractName = keyof typeof protocolAbis;

/**
 * Each protocol contract's address and ABI by name: what the event indexer decodes logs with.
 *
 * @example
 * const indexer = createIndexer({ client, chainId, contracts: indexedContracts(addresses), sink });
 */
export function indexedContracts(addresses: ProtocolAddresses): Partial<Record<ProtocolContractName, { address: Address; abi: Abi }>> {
  // one name per address: where OPEN is an ERC-20, the governance token is the OPEN token
  const seen = new Set<string>();
  const named = (Object.keys(protocolAbis) as ProtocolContractName[]).filter((n) => !seen.has(addresses[n].toLowerCase()) && seen.add(addresses[n].toLowerCase()));
  return Object.fromEntries(named.map((n) => [n, { address: addresses[n], abi: protocolAbis[n] as Abi }])) as Partial<Record<ProtocolContractName, { address: Address; abi: Abi }>>;
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
    governanceToken: getContract({ address: addresses.governanceToken, abi: protocolAbis.governanceToken, client }),
    timelock: getContract({ address: addresses.timelock, abi: openTimelockAbi, client }),
    governor: getContract({ address: addresses.governor, abi: protocolAbis.governor, client }),
    staking: getContract({ address: addresses.staking, abi: protocolAbis.staking, client }),
    datanetRegistry: getContract({ address: addresses.datanetRegistry, abi: protocolAbis.datanetRegistry, client }),
    modelRegistry: getContract({ address: addresses.modelRegistry, abi: modelRegistryAbi, client }),
    dataAvailabilityChallenge: getContract({ address: addresses.dataAvailabilityChallenge, abi: protocolAbis.dataAvailabilityChallenge, client }),
    inferenceEscrow: getContract({ address: addresses.inferenceEscrow, abi: protocolAbis.inferenceEscrow, client }),
    attributionSettlement: getContract({ address: addresses.attributionSettlement, abi: protocolAbis.attributionSettlement, client }),
    operatorRegistry: getContract({ address: addresses.operatorRegistry, abi: operatorRegistryAbi, client }),
    agentRegistry: getContract({ address: addresses.agentRegistry, abi: protocolAbis.agentRegistry, client }),
    skillRegistry: getContract({ address: addresses.skillRegistry, abi: protocolAbis.skillRegistry, client }),
    erc6551Registry: getContract({ address: addresses.erc6551Registry, abi: erc6551RegistryAbi, client }),
    agentAccountImplementation: getContract({ address: addresses.agentAccountImplementation, abi: protocolAbis.agentAccountImplementation, client }),
    skillCallRoots: getContract({ address: addresses.skillCallRoots, abi: protocolAbis.skillCallRoots, client }),
    reputationRegistry: getContract({ address: addresses.reputationRegistry, abi: protocolAbis.reputationRegistry, client }),
    validationRegistry: getContract({ address: addresses.validationRegistry, abi: protocolAbis.validationRegistry, client }),
  };
}

export type ProtocolContracts = ReturnType<typeof protocolContracts>;
