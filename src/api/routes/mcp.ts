import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { PaymentPayload } from '@x402/core/types';
import type { FastifyInstance } from 'fastify';
import { X402PaymentError, type X402Node } from '../../settlement/x402-node.ts';
import { getAgent } from '../../skills/agents.ts';
import { bazaarEntries, mcpTool } from '../../skills/skill-listings.ts';
import { listSkills, type ListedSkill } from '../../skills/skill-store.ts';
import { CodedError } from '../../util/coded-error.ts';
import { maxPriceOf, payAndCall } from '../../skills/paid-call.ts';
import { originOf, skillNode, type SkillRouteContext } from './skills.ts';

/** The `_meta` keys of x402's MCP transport: the payment a client sends with `tools/call`, and the settlement the result carries. */
export const MCP_X402 = { payment: 'x402/payment', response: 'x402/payment-response' } as const;

/** The text a tool's arguments give the skill: its `input` when that is all there is, else the arguments as JSON. */
const inputOf = (args: Record<string, unknown> | undefined) => {
  const keys = Object.keys(args ?? {});
  return keys.length === 1 && typeof args!.input === 'string' ? (args!.input as string) : JSON.stringify(args ?? {});
};

/**
 * Each agent's skills as an MCP server (Streamable HTTP, stateless) at `/agents/:name/mcp`:
 * `tools/list` gives every skill as a tool (price under `_meta`), `tools/call` runs one paid with
 * x402 as its MCP transport says — the payment in the request's `_meta["x402/payment"]`; without
 * one (or with a bad one) the result is an error whose structured content is the PaymentRequired;
 * a paid result carries `_meta["x402/payment-response"]`.
 */
export function mcpRoutes(app: FastifyInstance, ctx: SkillRouteContext, x402: X402Node): void {
  app.post<{ Params: { name: string } }>('/agents/:name/mcp', async (request, reply) => {
    const agent = await getAgent(ctx.db, request.params.name);
    if (!agent) throw new CodedError('unknown_agent', `this node runs no agent named ${request.params.name}`);
    const origin = originOf(request);
    const server = new Server({ name: agent.name, version: '1.0.0' }, { capabilities: { tools: {} } });
    const skills = async () => listSkills(ctx.db, { agent: agent.account });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: (await skills()).map((l) => mcpTool(l.skill)) }));
    server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
      const listed = (await skills()).find((l) => l.skill.name === req.params.name);
      if (!listed) return { isError: true, content: [{ type: 'text', text: `${agent.name} has no tool ${req.params.name}` }] };
      return paidToolCall(ctx, x402, listed, req.params.arguments, req.params._meta?.[MCP_X402.payment] as PaymentPayload | undefined, origin, extra.signal);
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } finally {
      await server.close();
    }
  });
  // stateless: no streams to resume and no sessions to end
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({ method, url: '/agents/:name/mcp', handler: async (_request, reply) => reply.status(405).header('allow', 'POST').send({ error: 'method_not_allowed', message: 'this MCP server is stateless: POST JSON-RPC requests' }) });
  }
}

async function paidToolCall(ctx: SkillRouteContext, x402: X402Node, listed: ListedSkill, args: Record<string, unknown> | undefined, payment: PaymentPayload | undefined, origin: string, signal: AbortSignal): Promise<CallToolResult> {
  const maxPrice = maxPriceOf(listed, typeof args?.maxPrice === 'string' && /^\d{1,78}$/.test(args.maxPrice) ? BigInt(args.maxPrice) : undefined);
  const resource = { url: `mcp://tool/${listed.skill.name}`, description: `${listed.skill.name}: ${listed.skill.description}`, maxAmount: maxPrice, origin, extensions: bazaarEntries(listed.skill).mcp };
  let paid;
  try {
    paid = await x402.verify(payment ?? null, resource);
  } catch (err) {
    if (!(err instanceof X402PaymentError)) throw err;
    return { isError: true, structuredContent: err.paymentRequired as unknown as Record<string, unknown>, content: [{ type: 'text', text: JSON.stringify(err.paymentRequired) }] };
  }
  const { maxPrice: _cap, ...rest } = args ?? {};
  const r = await payAndCall(skillNode(ctx), { skill: listed.skill.id, input: inputOf(rest), payer: paid.payer, maxPrice: paid.maxAmount, x402: paid, signal });
  const settled = await x402.settle(paid, r.call.price);
  return {
    content: [{ type: 'text', text: r.output }],
    _meta: { [MCP_X402.response]: settled, 'openledger/call': { callId: r.call.callId, price: r.call.price.toString() } },
  };
}
