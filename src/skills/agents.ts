import { getAddress, isAddressEqual, type Address, type LocalAccount, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { agentAccountAbi } from '../chain/generated/index.ts';
import type { Queryable } from '../store/database.ts';
import { CodedError } from '../util/coded-error.ts';

/**
 * An agent this node runs: an ERC-8004 identity (its token in the AgentRegistry) whose ERC-6551
 * account is its treasury — paid for its calls, and the `agent` its calls name — and the session
 * key the node holds to sign for it, which the owner grants on the account.
 */
export interface Agent {
  name: string;
  agentId: string;
  /** The agent's ERC-6551 account: its treasury, and whom its calls are signed for. */
  account: Address;
  /** The token's owner when the node took the agent on. */
  owner: Address;
  /** The session key the node signs with; it signs for the account once the owner grants it (`canSign`). */
  sessionKey: Address;
  createdAt: string;
}

/** No such agent, or one that cannot be taken on. */
export class AgentError extends CodedError {
  override name = 'AgentError';
}

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Takes on an agent registered in the AgentRegistry, asked by its owner: checks on chain that
 * `owner` holds the agent's token, reads its account, and makes the session key the node will sign
 * its calls with (kept in the store, never served). The owner then grants that key on the account
 * (`grantSessionKey`, with `canSign`): until then, and after the token changes hands, nothing the
 * node signs for the agent verifies. The name is unique on this node.
 *
 * @example
 * const agent = await hostAgent({ db, contracts }, { name: 'trial-summariser', agentId: 1n, owner: signer });
 */
export async function hostAgent(node: { db: Queryable; contracts: Pick<ProtocolContracts, 'agentRegistry'> }, o: { name: string; agentId: bigint; owner: Address }): Promise<Agent> {
  if (!NAME.test(o.name) || o.name.length > 64) throw new AgentError('invalid_agent', `agent name "${o.name}" must be 1 to 64 lowercase letters, digits and single hyphens`);
  const registry = node.contracts.agentRegistry.read;
  const holder = await registry.ownerOf([o.agentId]).catch(() => null);
  if (!holder) throw new AgentError('unknown_agent', `agent ${o.agentId} is not registered in the AgentRegistry`);
  if (!isAddressEqual(holder, o.owner)) throw new AgentError('forbidden', `agent ${o.agentId} belongs to ${holder}, not to ${o.owner}`);
  const account = getAddress(await registry.getAgentWallet([o.agentId]));
  const key = generatePrivateKey();
  const [row] = await node.db.query<AgentRow>(
    `insert into agents (name, agent_id, account, owner, session_key, signing_key) values ($1, $2, $3, $4, $5, $6)
     on conflict do nothing returning *`,
    [o.name, o.agentId.toString(), account, getAddress(o.owner), privateKeyToAccount(key).address, key]);
  if (!row) throw new AgentError('agent_exists', `an agent named ${o.name}, or agent ${o.agentId}, is run by this node already`);
  return agentOf(row);
}

/**
 * Whether the node can sign for the agent now: its session key is granted, unexpired, unrevoked,
 * allowed to sign and of the token's current owner, and the account is not paused.
 *
 * @example
 * if (!(await canSignFor(publicClient, agent))) console.log('grant the session key first');
 */
export async function canSignFor(client: Pick<PublicClient, 'readContract'>, agent: Pick<Agent, 'account' | 'sessionKey'>): Promise<boolean> {
  const [active, key] = await Promise.all([
    client.readContract({ address: agent.account, abi: agentAccountAbi, functionName: 'isSessionKeyActive', args: [agent.sessionKey] }),
    client.readContract({ address: agent.account, abi: agentAccountAbi, functionName: 'sessionKey', args: [agent.sessionKey] }),
  ]);
  return active && key.canSign;
}

/** The agent with this name or account (null: not run here). */
export async function getAgent(db: Queryable, nameOrAccount: string): Promise<Agent | null> {
  const [row] = await db.query<AgentRow>('select * from agents where name = $1 or lower(account) = lower($1)', [nameOrAccount]);
  return row ? agentOf(row) : null;
}

/** Every agent this node runs, by name. */
export async function listAgents(db: Queryable): Promise<Agent[]> {
  return (await db.query<AgentRow>('select * from agents order by name')).map(agentOf);
}

/**
 * The session key that signs for an agent (the node's copy).
 *
 * @example
 * const signer = await agentSigner(db, agent.account);
 */
export async function agentSigner(db: Queryable, account: Address): Promise<LocalAccount> {
  const [row] = await db.query<{ signing_key: `0x${string}` }>('select signing_key from agents where lower(account) = lower($1)', [account]);
  if (!row) throw new AgentError('unknown_agent', `this node does not run agent ${account}`);
  return privateKeyToAccount(row.signing_key);
}

interface AgentRow { name: string; agent_id: string; account: Address; owner: Address; session_key: Address; created_at: Date }

const agentOf = (r: AgentRow): Agent => ({
  name: r.name, agentId: String(r.agent_id), account: getAddress(r.account), owner: getAddress(r.owner), sessionKey: getAddress(r.session_key), createdAt: r.created_at.toISOString(),
});
