import { declareDiscoveryExtension } from '@x402/extensions/bazaar';
import canonicalize from 'canonicalize';
import { formatEther, keccak256, stringToBytes, type Hex } from 'viem';
import type { SkillFolder } from './skill-folder.ts';

// One skill folder, its standard listings: the MCP tool an MCP client calls, the A2A agent card's
// skill entry, the x402 Bazaar discovery entries, and what our own registry keeps (its id and terms). Nothing is written twice: each
// listing is computed from the folder.

/** The `_meta` keys our MCP tools carry (MCP reserves unprefixed and `mcp`-prefixed keys). */
export const MCP_META = { skill: 'openledger/skill', offer: 'openledger/offer' } as const;

/**
 * The skill as an MCP tool (`tools/list`): its name and description from SKILL.md, its input and
 * output schemas from `tool.json` (a single `input` string otherwise), and under `_meta` its id and
 * price, so a client knows what a call costs before it pays.
 *
 * @example
 * server.registerTool(…mcpTool(skill)) // or answer tools/list with it
 */
export function mcpTool(skill: SkillFolder) {
  return {
    name: skill.name,
    description: skill.description,
    inputSchema: skill.tool?.inputSchema ?? { type: 'object' as const, properties: { input: { type: 'string', description: 'what the skill works on' } }, required: ['input'] },
    ...(skill.tool?.outputSchema ? { outputSchema: skill.tool.outputSchema } : {}),
    _meta: {
      [MCP_META.skill]: skill.id,
      [MCP_META.offer]: { pricing: skill.offer.pricing, price: formatEther(skill.offer.price), currency: 'OPEN', models: skill.offer.models, datanets: skill.offer.datanets, dataRoyaltyBps: skill.offer.dataRoyaltyBps },
    },
  };
}

/**
 * The skill as an A2A `AgentSkill` (an entry of the agent card's `skills`): its id is the folder's
 * hash, its tags say what it runs on and how it is priced.
 *
 * @example
 * card.skills.push(a2aSkill(skill));
 */
export function a2aSkill(skill: SkillFolder) {
  return {
    id: skill.id,
    name: skill.name,
    description: skill.description,
    tags: ['openledger', `pricing:${skill.offer.pricing}`, `price:${formatEther(skill.offer.price)} OPEN`, ...skill.offer.models.map((m) => `model:${m}`), ...skill.offer.datanets.map((d) => `datanet:${d}`)],
    examples: [] as string[],
    inputModes: [skill.tool ? 'application/json' : 'text/plain'],
    outputModes: [skill.tool?.outputSchema ? 'application/json' : 'text/plain'],
    securityRequirements: [],
  };
}

/**
 * The hash of a skill's terms as the SkillRegistry lists them: keccak256 of the offer's canonical
 * JSON (amounts in wei as decimal strings). A listing whose terms hash differs is not this offer.
 *
 * @example
 * await skillRegistry.write.list([agentId, skill.id, skillTermsHash(skill), uri, bond]);
 */
export function skillTermsHash(skill: Pick<SkillFolder, 'offer'>): Hex {
  const o = skill.offer;
  return keccak256(stringToBytes(canonicalize({ ...o, price: o.price.toString(), derivedFrom: o.derivedFrom.map((d) => ({ ...d, cap: d.cap.toString() })) })!));
}

/**
 * The skill's x402 Bazaar discovery entries (`extensions.bazaar` of its 402s, built with
 * `@x402/extensions`): over HTTP, a JSON body `{ input, maxPrice? }` answered with the call; over
 * MCP, its tool and input schema.
 *
 * @example
 * const { http } = bazaarEntries(skill);
 * await x402.paymentRequired(resource, undefined, http);
 */
export function bazaarEntries(skill: SkillFolder): { http: Record<string, unknown>; mcp: Record<string, unknown> } {
  const tool = mcpTool(skill);
  const http = declareDiscoveryExtension({
      bodyType: 'json',
      input: { input: skill.description },
      inputSchema: { type: 'object', properties: { input: { type: 'string' }, maxPrice: { type: 'string', description: 'the most you pay, wei (skills not priced flat)' } }, required: ['input'] },
      output: { example: { callId: '0x…', output: '…', price: skill.offer.price.toString() } },
  });
  // the method an HTTP framework's bazaar extension would fill in from the route: calls are POSTed
  (http.bazaar as unknown as { info: { input: { method?: string } } }).info.input.method = 'POST';
  return { http, mcp: declareDiscoveryExtension({ toolName: tool.name, description: tool.description, transport: 'streamable-http', inputSchema: tool.inputSchema }) };
}
