import { z } from 'zod';
import { address, hex, hex32Input, jsonObject, time, wei } from './common.ts';
import { defineRoute } from './route.ts';

// The Agent Skills Marketplace: agents (ERC-8004 identities the node runs), the skills they sell
// (Agent Skills folders), paid calls (an API key, a signed request or an x402 payment), the tree of
// each call drawn down to whom it paid, the standard listings (A2A agent card, ERC-8004
// registration file) and the node as the x402 facilitator of its escrow scheme.

const agentName = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lowercase letters, digits and single hyphens').max(64);

export const agent = z.object({
  name: z.string(), agentId: wei, account: address, owner: address, sessionKey: address, createdAt: time,
  /** Whether the node can sign for it now (its session key granted, with `canSign`, by the token's current owner). */
  canSign: z.boolean(),
});

const offer = z.object({
  pricing: z.enum(['flat', 'per-1k-tokens', 'upto']), price: wei, models: z.array(z.string()), datanets: z.array(z.number().int()),
  dataRoyaltyBps: z.number().int(), derivedFrom: z.array(z.object({ skill: hex, bps: z.number().int(), cap: wei })),
});

export const skill = z.object({
  id: hex, name: z.string(), description: z.string(), license: z.string().nullable(), agent: address, agentName: z.string(),
  offer,
  /** The skill's listing in the SkillRegistry (null: not listed on chain). */
  listing: z.object({ agentId: wei, bond: wei, active: z.boolean(), termsHash: hex }).nullable(),
  /** Paid calls recorded here and the OPEN they paid. */
  calls: z.object({ count: z.number().int(), paid: wei }),
  /** Feedback in the ReputationRegistry, each from a paid call's payer, the score weighted by what the call paid (null: no agent id on chain). */
  reputation: z.object({ feedback: z.number().int(), score: z.number().nullable(), paid: wei }).nullable(),
  /** Its agent's calls re-run by staked validators (ValidationRegistry, tag openledger-rerun): how many, and their average answer (0–100). */
  validations: z.object({ count: z.number().int(), average: z.number().nullable() }).nullable(),
  tool: z.object({ inputSchema: jsonObject, outputSchema: jsonObject.optional() }).nullable(),
  /** What a call runs (workflow.json): each step's template, model and most tokens, or the skill it calls and the most it pays it. */
  steps: z.array(z.object({
    id: z.string(), kind: z.enum(['prompt', 'call']),
    model: z.string().optional(), prompt: z.string().optional(), maxTokens: z.number().int().optional(),
    skill: hex.optional(), input: z.string().optional(), maxPrice: wei.optional(),
  })),
  /** The template of a call's output. */
  output: z.string(),
  createdAt: time,
});

const callNode = z.object({ callId: hex, skill: hex, agent: address, payer: address, price: wei, inferenceReceipts: z.array(hex), get children() { return z.array(callNode); } }).meta({ id: 'SkillCallNode' });

export const callAnswer = z.object({
  callId: hex, output: z.string(), price: wei, payer: address,
  /** The call and every call it made, as signed. */
  tree: callNode,
});

const payoutNode = z.object({
  call: z.object({ callId: hex, parentCallId: hex, skill: hex, agent: address, payer: address, price: wei, inputHash: hex, outputHash: hex, inferenceReceipts: z.array(hex), children: z.array(hex) }),
  input: z.string(), output: z.string(),
  inferences: z.array(z.object({ receiptId: hex, model: z.string(), fee: wei, contributions: z.array(z.object({ contributionId: hex, datanetId: z.number().int(), sharePpm: z.number().int() })) })),
  payouts: z.array(z.object({ payee: address, role: z.string(), modelName: z.string(), datanetId: z.number().int(), amount: wei })),
  get children() { return z.array(payoutNode); },
}).meta({ id: 'SkillCallPayouts' });

export const createAgent = defineRoute({
  id: 'createAgent', method: 'POST', path: '/agents', tag: 'skills', auth: 'signed', status: 201,
  summary: "Have this node run an agent registered in the AgentRegistry (signed by the agent's owner); answers the session key to grant on its account",
  body: z.object({ name: agentName, agentId: z.string().regex(/^\d{1,78}$/).transform((s) => BigInt(s)) }).strict(),
  response: agent,
});
export const listAgents = defineRoute({ id: 'listAgents', method: 'GET', path: '/agents', tag: 'skills', auth: 'none', summary: 'The agents this node runs', response: z.object({ agents: z.array(agent) }) });
export const getAgent = defineRoute({
  id: 'getAgent', method: 'GET', path: '/agents/:name', tag: 'skills', auth: 'none', summary: 'An agent and the skills it sells',
  params: z.object({ name: agentName }), response: agent.extend({ skills: z.array(skill) }),
});
export const getAgentCard = defineRoute({
  id: 'getAgentCard', method: 'GET', path: '/agents/:name/.well-known/agent-card.json', tag: 'skills', auth: 'none',
  summary: "The agent's A2A agent card: its skills, and where to call them", params: z.object({ name: agentName }), response: jsonObject,
});
export const getAgentRegistration = defineRoute({
  id: 'getAgentRegistration', method: 'GET', path: '/agents/:name/registration.json', tag: 'skills', auth: 'none',
  summary: "The agent's ERC-8004 registration file (its agentURI): its endpoints (MCP, A2A), wallet and registration", params: z.object({ name: agentName }), response: jsonObject,
});

export const listSkill = defineRoute({
  id: 'listSkill', method: 'POST', path: '/skills', tag: 'skills', auth: 'signed', status: 201,
  summary: "List a skill folder (its files) for one of the node's agents (signed by the agent's owner)",
  body: z.object({
    agent: agentName, name: agentName,
    files: z.array(z.object({ path: z.string().min(1).max(512), base64: z.string().max(24 * 1024 * 1024) })).min(1).max(1000),
  }).strict(),
  response: skill,
});
export const listSkills = defineRoute({
  id: 'listSkills', method: 'GET', path: '/skills', tag: 'skills', auth: 'none', summary: 'Browse and search the skills sold here',
  query: z.object({ q: z.string().max(200).optional(), agent: agentName.optional() }), response: z.object({ skills: z.array(skill) }),
});
export const getSkill = defineRoute({ id: 'getSkill', method: 'GET', path: '/skills/:id', tag: 'skills', auth: 'none', summary: 'A skill', params: z.object({ id: hex32Input }), response: skill });
export const callSkill = defineRoute({
  id: 'callSkill', method: 'POST', path: '/skills/:id/call', tag: 'skills', auth: 'consumer',
  summary: 'Call a skill, paying at most maxPrice: with an API key or a signed request from an account with a deposit, or an x402 payment (scheme openledger-escrow)',
  description: 'Without an API key or a signature the answer is 402 with a PAYMENT-REQUIRED header (x402 v2); retry with PAYMENT-SIGNATURE. The answer carries PAYMENT-RESPONSE then.',
  params: z.object({ id: hex32Input }),
  body: z.object({ input: z.string().min(1).max(32_000), maxPrice: z.string().regex(/^\d{1,78}$/).transform((s) => BigInt(s)).optional() }).strict(),
  response: callAnswer,
});
export const getSkillCall = defineRoute({
  id: 'getSkillCall', method: 'GET', path: '/skill-calls/:id', tag: 'skills', auth: 'none',
  summary: "A call's whole tree (from the consumer's call down) with what each call paid whom, and the epoch that settled it",
  params: z.object({ id: hex32Input }), response: z.object({ epoch: z.number().int().nullable(), root: payoutNode }),
});

export const getSkillCallProof = defineRoute({
  id: 'getSkillCallProof', method: 'GET', path: '/skill-calls/:id/proof', tag: 'skills', auth: 'none',
  summary: "Proof that a call was paid: its leaf and proof against its epoch's call root in SkillCallRoots (for feedback in the ReputationRegistry, or a fraud proof)",
  params: z.object({ id: hex32Input }),
  response: z.object({
    operator: address, epoch: z.number().int(), callRoot: hex,
    leaf: z.object({ callId: hex, parentCallId: hex, skill: hex, agent: address, payer: address, price: wei, inputHash: hex, outputHash: hex, receiptsHash: hex, childrenHash: hex }),
    proof: z.array(hex),
  }),
});

const paymentBody = z.object({ x402Version: z.number().int(), paymentPayload: jsonObject, paymentRequirements: jsonObject }).passthrough();
export const x402Supported = defineRoute({ id: 'x402Supported', method: 'GET', path: '/x402/supported', tag: 'skills', auth: 'none', summary: 'The x402 schemes this node facilitates', response: jsonObject });
export const x402Verify = defineRoute({ id: 'x402Verify', method: 'POST', path: '/x402/verify', tag: 'skills', auth: 'none', summary: 'Verify an x402 payment of the escrow scheme to this node', body: paymentBody, response: jsonObject });
export const x402Settle = defineRoute({ id: 'x402Settle', method: 'POST', path: '/x402/settle', tag: 'skills', auth: 'none', summary: 'Settle an x402 payment of the escrow scheme: what the request it paid for charged', body: paymentBody, response: jsonObject });
