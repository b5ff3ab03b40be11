import { concat, getContractAddress, numberToHex, padHex, zeroHash, type Address, type Hex } from 'viem';

/** What names one ERC-6551 token bound account: its registry, implementation, salt and token. */
export interface TokenBoundAccount {
  registry: Address;
  implementation: Address;
  /** 32 bytes; the AgentRegistry creates every agent's account with salt 0. */
  salt?: Hex;
  chainId: number | bigint;
  tokenContract: Address;
  tokenId: bigint;
}

/**
 * The runtime code of a token bound account as EIP-6551 specifies it: the ERC-1167 proxy to
 * `implementation`, then the footer (salt, chainId, tokenContract, tokenId), 32 bytes each.
 *
 * @example
 * assert.equal(await publicClient.getCode({ address: wallet }), tokenBoundAccountCode({ registry, implementation, chainId: 31337, tokenContract, tokenId: 1n }));
 */
export function tokenBoundAccountCode(a: Omit<TokenBoundAccount, 'registry'>): Hex {
  return concat([
    '0x363d3d373d3d3d363d73',
    a.implementation,
    '0x5af43d82803e903d91602b57fd5bf3',
    a.salt ?? zeroHash,
    numberToHex(BigInt(a.chainId), { size: 32 }),
    padHex(a.tokenContract, { size: 32 }),
    numberToHex(a.tokenId, { size: 32 }),
  ]).toLowerCase() as Hex;
}

/**
 * The address of a token bound account, computed off chain as the registry does (CREATE2 of the
 * 0xad-byte runtime code behind its 10-byte constructor, under `salt`): an agent's wallet is known
 * without asking the chain, and the same for anyone who checks.
 *
 * @example
 * const wallet = tokenBoundAccountAddress({ registry: addresses.erc6551Registry, implementation: addresses.agentAccountImplementation, chainId, tokenContract: addresses.agentRegistry, tokenId: agentId });
 */
export function tokenBoundAccountAddress(a: TokenBoundAccount): Address {
  const bytecode = concat(['0x3d60ad80600a3d3981f3', tokenBoundAccountCode(a)]);
  return getContractAddress({ opcode: 'CREATE2', from: a.registry, salt: a.salt ?? zeroHash, bytecode });
}
