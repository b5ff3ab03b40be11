import { getAddress, type Address, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Queryable } from '../store/database.ts';
import { CodedError } from '../util/coded-error.ts';

/** An agent this node runs: its name, the account that signs its calls and is paid, and who made it. */
export interface Agent {
  address: Address;
  name: string;
  owner: Address;
  createdAt: string;
}

/** No such agent, or one that cannot be made. */
export class AgentError extends CodedError {
  override name = 'AgentError';
}

const NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Makes an agent run by this node: a fresh key (kept in the store, never served) whose account
 * signs the agent's calls and receives its earnings. The name is unique on this node.
 *
 * @example
 * const agent = await createAgent(db, { name: 'trial-summariser', owner });
 */
export async function createAgent(db: Queryable, o: { name: string; owner: Address }): Promise<Agent> {
  if (!NAME.test(o.name) || o.name.length > 64) throw new AgentError('invalid_agent', `agent name "${o.name}" must be 1 to 64 lowercase letters, digits and single hyphens`);
  const key = generatePrivateKey();
  const address = privateKeyToAccount(key).address;
  const [row] = await db.query<AgentRow>('insert into agents (address, name, owner, signing_key) values ($1, $2, $3, $4) on conflict (name) do nothing returning *', [address, o.name, getAddress(o.owner), key]);
  if (!row) throw new AgentError('agent_exists', `an agent named ${o.name} exists on this node`);
  return agentOf(row);
}

/** The agent with this name or address (null: none here). */
export async function getAgent(db: Queryable, nameOrAddress: string): Promise<Agent | null> {
  const [row] = await db.query<AgentRow>('select * from agents where name = $1 or lower(address) = lower($1)', [nameOrAddress]);
  return row ? agentOf(row) : null;
}

/** Every agent this node runs, by name. */
export async function listAgents(db: Queryable): Promise<Agent[]> {
  return (await db.query<AgentRow>('select * from agents order by name')).map(agentOf);
}

/**
 * The account that signs for an agent (the node's copy of its key).
 *
 * @example
 * const signer = await agentSigner(db, agent.address);
 */
export async function agentSigner(db: Queryable, address: Address): Promise<LocalAccount> {
  const [row] = await db.query<{ signing_key: `0x${string}` }>('select signing_key from agents where lower(address) = lower($1)', [address]);
  if (!row) throw new AgentError('unknown_agent', `this node does not run agent ${address}`);
  return privateKeyToAccount(row.signing_key);
}

interface AgentRow { address: Address; name: string; owner: Address; created_at: Date }

const agentOf = (r: AgentRow): Agent => ({ address: getAddress(r.address), name: r.name, owner: getAddress(r.owner), createdAt: r.created_at.toISOString() });
