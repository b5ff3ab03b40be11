import { decodeEventLog, getAddress, type Address, type Hex } from 'viem';
import type { ChainClients } from './clients.ts';
import { agentAccountAbi } from './generated/index.ts';
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
