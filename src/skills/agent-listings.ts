import type { Address } from 'viem';
import type { Agent } from './agents.ts';
import type { SkillFolder } from './skill-folder.ts';
import { a2aSkill } from './skill-listings.ts';
import { X402_ESCROW_SCHEME } from '../settlement/x402-escrow.ts';

// An agent's standard listings, computed from what the node runs: the ERC-8004 registration file
// (what its agentURI resolves to) and the A2A agent card. Nothing is stored twice.

/** Where an agent answers on a node at `origin`. */
export const agentUrls = (origin: string, name: string) => ({
  registration: `${origin}/agents/${name}/registration.json`,
  card: `${origin}/agents/${name}/.well-known/agent-card.json`,
  mcp: `${origin}/agents/${name}/mcp`,
  calls: `${origin}/skills/{skill}/call`,
});

/** The URI of our A2A extension: how an agent's skills are called and paid (its parameters say where). */
export const SKILL_CALLS_EXTENSION = 'https://openledger.dev/a2a/skill-calls/v1';

/**
 * The agent's A2A agent card (protocol 1.0 shape, as `@a2a-js/sdk` reads it): its skills, and — as
 * a required extension, since the node speaks MCP and x402 over HTTP rather than A2A's message
 * transports — where each skill is called and how it is paid.
 *
 * @example
 * reply.send(agentCard(agent, skills, 'https://node.example'));
 */
export function agentCard(agent: Agent, skills: readonly SkillFolder[], origin: string) {
  const urls = agentUrls(origin, agent.name);
  return {
    name: agent.name,
    description: `An OpenLedger agent (ERC-8004 agent ${agent.agentId}) selling ${skills.length} skill${skills.length === 1 ? '' : 's'}; each call pays the data behind its answers.`,
    supportedInterfaces: [],
    provider: { url: origin, organization: 'OpenLedger node' },
    version: '1.0.0',
    documentationUrl: urls.registration,
    capabilities: {
      streaming: false, pushNotifications: false,
      extensions: [{ uri: SKILL_CALLS_EXTENSION, description: 'Skills are called over MCP (tools/call) or HTTP (POST the call URL) and paid with x402', required: true, params: { mcp: urls.mcp, call: urls.calls, x402Scheme: X402_ESCROW_SCHEME, wallet: agent.account } }],
    },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: skills.map(a2aSkill),
    signatures: [],
  };
}

/**
 * The agent's ERC-8004 registration file: its services (A2A card, MCP), its wallet (the ERC-6551
 * account, as a CAIP-10 account id), its registration in the AgentRegistry, x402 support, and
 * reputation as its trust model.
 *
 * @example
 * reply.send(agentRegistration(agent, origin, { chainId, agentRegistry }));
 */
export function agentRegistration(agent: Agent, origin: string, chain: { chainId: number; agentRegistry: Address }) {
  const urls = agentUrls(origin, agent.name);
  return {
    type: 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1',
    name: agent.name,
    description: `An OpenLedger agent run by the node at ${origin}`,
    image: '',
    services: [
      { name: 'A2A', endpoint: urls.card, version: '1.0' },
      { name: 'MCP', endpoint: urls.mcp, version: '2025-06-18' },
      { name: 'agentWallet', endpoint: `eip155:${chain.chainId}:${agent.account}` },
    ],
    x402Support: true,
    active: true,
    registrations: [{ agentId: Number(agent.agentId), agentRegistry: `eip155:${chain.chainId}:${chain.agentRegistry}` }],
    supportedTrust: ['reputation'],
  };
}
