import { defineChain, type Address, type Chain } from 'viem';
import { ChainError } from './errors.ts';

/**
 * A chain the protocol runs on: its id (part of every EIP-712 domain, so a signature made for one
 * profile never verifies on another), its native coin, its block time and the addresses of its
 * predeploys.
 */
export interface ChainProfile {
  name: 'openledger' | 'openledger-testnet' | 'development';
  chainId: number;
  /** The native coin: OPEN on OpenLedger's L2 (OPN on its testnet). */
  nativeCurrency: { name: string; symbol: string; decimals: 18 };
  /** Seconds per L2 block. */
  blockSeconds: number;
  /** Whether OPEN is the native coin (contracts hold it as WOPEN; governance votes with GOPEN). */
  nativeOpen: boolean;
  predeploys: {
    /** WOPEN: the OP Stack WETH predeploy, holding wrapped native OPEN. */
    wrappedOpen: Address;
  };
}

/** OP Stack's WETH predeploy: WOPEN's address on every OpenLedger L2. */
export const WRAPPED_OPEN_ADDRESS: Address = '0x4200000000000000000000000000000000000006';

/** OP Stack's L1Block predeploy: the L1's attributes and the gas paying token (OPEN's L1 address). */
export const L1_BLOCK_ADDRESS: Address = '0x4200000000000000000000000000000000000015';

/** OP Stack's L2ToL1MessagePasser predeploy: a withdrawal to L1 starts with `initiateWithdrawal`. */
export const L2_TO_L1_MESSAGE_PASSER_ADDRESS: Address = '0x4200000000000000000000000000000000000016';

/**
 * The chains with a profile: OpenLedger's mainnet (1612) and testnet (161201), OP Stack L2s whose
 * gas token is OPEN, and the local development chain (31337, anvil's id: distinct from both), run
 * the same way so a node behaves alike on each.
 */
export const CHAIN_PROFILES: readonly ChainProfile[] = [
  { name: 'openledger', chainId: 1612, nativeCurrency: { name: 'OPEN', symbol: 'OPEN', decimals: 18 }, blockSeconds: 2, nativeOpen: true, predeploys: { wrappedOpen: WRAPPED_OPEN_ADDRESS } },
  { name: 'openledger-testnet', chainId: 161201, nativeCurrency: { name: 'OPEN', symbol: 'OPN', decimals: 18 }, blockSeconds: 2, nativeOpen: true, predeploys: { wrappedOpen: WRAPPED_OPEN_ADDRESS } },
  { name: 'development', chainId: 31337, nativeCurrency: { name: 'OPEN', symbol: 'OPEN', decimals: 18 }, blockSeconds: 1, nativeOpen: true, predeploys: { wrappedOpen: WRAPPED_OPEN_ADDRESS } },
];

/** A profile name given where a chain is chosen that names none. */
export class UnknownChainProfileError extends ChainError {
  override name = 'UnknownChainProfileError';
}

/**
 * The profile of `chainId`, or undefined for any other EVM chain (where OPEN is an ERC-20).
 *
 * @example
 * chainProfileOf(1612)?.nativeCurrency.symbol; // 'OPEN'
 */
export function chainProfileOf(chainId: number): ChainProfile | undefined {
  return CHAIN_PROFILES.find((p) => p.chainId === chainId);
}

/**
 * The profile named `name` (as `--chain` or `OPENLEDGER_CHAIN` give it).
 *
 * @example
 * chainProfile('openledger-testnet').chainId; // 161201
 */
export function chainProfile(name: string): ChainProfile {
  const p = CHAIN_PROFILES.find((c) => c.name === name);
  if (!p) throw new UnknownChainProfileError(`no chain profile "${name}": one of ${CHAIN_PROFILES.map((c) => c.name).join(', ')}`);
  return p;
}

/**
 * viem's description of the chain at `rpcUrl` with id `chainId`: a profile's name and native coin,
 * or a generic EVM chain (ETH as its coin) for an id without a profile.
 *
 * @example
 * const chain = viemChain(1612, 'https://rpc.openledger.xyz');
 */
export function viemChain(chainId: number, rpcUrl: string): Chain {
  const p = chainProfileOf(chainId);
  return defineChain({
    id: chainId,
    name: p?.name ?? `openledger-${chainId}`,
    nativeCurrency: p?.nativeCurrency ?? { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}
