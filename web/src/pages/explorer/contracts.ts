import { decodeFunctionData, type Abi, type Address, type Hex } from 'viem';
import { protocolAbis, type ProtocolAddresses } from '../../../../src/chain/protocol.ts';

/** The ABI of each protocol contract, under the name the indexer stores it by (the keys of the node's `contracts`). */
export const contractAbis: Record<keyof ProtocolAddresses, Abi> = protocolAbis;

export const contractNames = Object.keys(contractAbis) as (keyof ProtocolAddresses)[];

const eventsOf = (abi: Abi): string[] => abi.flatMap((item) => (item.type === 'event' ? [item.name] : []));

/** The event names one contract can emit, or those of every contract when none is named; sorted, unique. */
export function eventNames(contract?: string): string[] {
  const abis = contract && contract in contractAbis ? [contractAbis[contract as keyof ProtocolAddresses]] : Object.values(contractAbis);
  return [...new Set(abis.flatMap(eventsOf))].sort();
}

/** The protocol contract deployed at `address`, if any. */
export function contractAt(addresses: ProtocolAddresses | undefined, address: Address | null | undefined): keyof ProtocolAddresses | undefined {
  if (!addresses || !address) return undefined;
  return contractNames.find((n) => addresses[n].toLowerCase() === address.toLowerCase());
}

/** The name of the function a transaction calls on a protocol contract (undefined for anything else). */
export function functionCalled(contract: keyof ProtocolAddresses | undefined, input: Hex): string | undefined {
  if (!contract || input.length < 10) return undefined;
  try {
    return decodeFunctionData({ abi: contractAbis[contract], data: input }).functionName;
  } catch {
    return undefined;
  }
}
