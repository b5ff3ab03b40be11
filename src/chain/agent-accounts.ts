import { decodeEventLog, getAddress, isAddressEqual, zeroAddress, type Address, type Hex, type PublicClient } from 'viem';
import type { ChainClients } from './clients.ts';
import { agentAccountAbi, agentRegistryAbi } from './generated/index.ts';
import type { ProtocolContracts } from './protocol.ts';

/** What an agent's owner grants a session key on the agent's ERC-6551 account (AgentAccount.SessionKeyLimits). */
export interface SessionKeyLimits {
  /** Most OPEN (wei) one payment by the key may move. */
  perCallCap: bigint;
  /** Most OPEN (wei) per window. */
  periodCap: bigint;
  /** Window length in seconds (0: the key's whole life). */
  periodSeconds: bigint;
  /** Unix seconds. */
  expiry: bigint;
  /** Whether the key may sign for the account (ERC-1271): what a node running the agent needs to sign its calls. */
  canSign: boolean;
  /** Whom the key may pay (empty: anyone). */
  allowedTargets: Address[];
}

/**
 * Registers an agent in the AgentRegistry (ERC-8004) as `clients.account`, with `agentURI` its
 * registration file; returns its id and its ERC-6551 account (the registry creates it).
 *
 * @example
 * const { agentId, account } = await registerAgent(clients, contracts, 'https://node.example/agents/summariser/registration.json');
 */
export async function registerAgent(clients: Pick<ChainClients, 'publicClient'>, contracts: Pick<ProtocolContracts, 'agentRegistry'>, agentURI: string): Promise<{ agentId: bigint; account: Address; txHash: Hex }> {
  const txHash = await contracts.agentRegistry.write.register([agentURI]);
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== 'success') throw new Error(`registering the agent reverted (${txHash})`);
  for (const log of receipt.logs) {
    if (getAddress(log.address) !== getAddress(contracts.agentRegistry.address)) continue;
    try {
      const e = decodeEventLog({ abi: contracts.agentRegistry.abi, ...log });
      if (e.eventName === 'Registered') {
        const agentId = (e.args as { agentId: bigint }).agentId;
        return { agentId, account: getAddress(await contracts.agentRegistry.read.getAgentWallet([agentId])), txHash };
      }
    } catch {
      // another event of the registry (the token's Transfer)
    }
  }
  throw new Error(`no Registered event in ${txHash}`);
}

/**
 * Grants `key` on an agent's account as its owner (`clients.account` must hold the agent's token).
 *
 * @example
 * await grantSessionKey(ownerClients, agent.account, agent.sessionKey, { perCallCap, periodCap, periodSeconds: 86_400n, expiry, canSign: true, allowedTargets: [] });
 */
export async function grantSessionKey(clients: Pick<ChainClients, 'publicClient' | 'walletClient' | 'account'>, account: Address, key: Address, limits: SessionKeyLimits): Promise<Hex> {
  const hash = await clients.walletClient.writeContract({ address: account, abi: agentAccountAbi, functionName: 'grantSessionKey', args: [key, limits], account: clients.account, chain: clients.walletClient.chain });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new Error(`granting the session key reverted (${hash})`);
  return hash;
}

/** What reading an account's signers at a past block needs of the chain: calls, events and block times. */
export type SignerHistoryClient = Pick<PublicClient, 'readContract' | 'getContractEvents' | 'getBlock'>;

/**
 * Whether `signer` could sign for the agent account `account` at block `block`, as the account's
 * `isValidSignature` answered then: the agent token's holder at that block, or a session key that
 * holder granted with the signing right — not revoked, not expired at the block's time, the account
 * not paused, the token not moved since. Read from the account's and the AgentRegistry's events
 * and the block's header, not from the state at that block (which a full node prunes), so anyone can
 * check a signature long after the key was revoked or the agent sold.
 *
 * @example
 * if (await accountSignerAt(publicClient, agent.account, signer, 1234n)) …;
 */
export async function accountSignerAt(client: SignerHistoryClient, account: Address, signer: Address, block: bigint): Promise<boolean> {
  const [, tokenContract, tokenId] = await client.readContract({ address: account, abi: agentAccountAbi, functionName: 'token' });
  const byOrder = <L extends { blockNumber: bigint | null; logIndex: number | null }>(logs: L[]) =>
    [...logs].sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : (a.blockNumber ?? 0n) < (b.blockNumber ?? 0n) ? -1 : 1));
  const transfers = byOrder(await client.getContractEvents({ address: tokenContract, abi: agentRegistryAbi, eventName: 'Transfer', args: { tokenId }, fromBlock: 0n, toBlock: block }));
  const last = transfers.at(-1);
  if (!last) return false;
  if (isAddressEqual(last.args.to!, signer)) return true;
  const ownerEpoch = BigInt(transfers.filter((t) => !isAddressEqual(t.args.from!, zeroAddress)).length);
  let grant: { ownerEpoch: bigint; expiry: bigint; canSign: boolean } | null = null;
  let revoked = false, paused = false;
  for (const e of byOrder(await client.getContractEvents({ address: account, abi: agentAccountAbi, fromBlock: 0n, toBlock: block }))) {
    if (e.eventName === 'PausedSet') paused = e.args.paused!;
    else if (e.eventName === 'SessionKeyGranted' && isAddressEqual(e.args.key!, signer)) {
      grant = { ownerEpoch: e.args.ownerEpoch!, expiry: e.args.expiry!, canSign: e.args.canSign! };
      revoked = false;
    } else if (e.eventName === 'SessionKeyRevoked' && isAddressEqual(e.args.key!, signer)) revoked = true;
  }
  if (!grant || !grant.canSign || revoked || paused || grant.ownerEpoch !== ownerEpoch) return false;
  const { timestamp } = await client.getBlock({ blockNumber: block });
  return timestamp <= grant.expiry;
}
