import { decodePaymentSignatureHeader, encodePaymentRequiredHeader, encodePaymentResponseHeader } from '@x402/core/http';
import type { PaymentPayload } from '@x402/core/types';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Address, Hex } from 'viem';
import * as contract from '../contract/skills.ts';
import { serveRoute } from '../serve-route.ts';
import { authenticate } from '../authenticate.ts';
import { consumerOf, inferenceNode, type InferenceRouteContext } from './inference.ts';
import type { ConsumerFunds } from '../../settlement/meter.ts';
import { callTreePayouts, paidCallProof } from '../../settlement/call-tree-payouts.ts';
import { skillCallStats } from '../../settlement/skill-calls.ts';
import { createX402, X402PaymentError, type VerifiedPayment, type X402Node } from '../../settlement/x402-node.ts';
import { agentCard, agentRegistration } from '../../skills/agent-listings.ts';
import { canSignFor, getAgent, hostAgent, listAgents, type Agent } from '../../skills/agents.ts';
import { maxPriceOf, payAndCall } from '../../skills/paid-call.ts';
import type { SkillCallResult, SkillNode } from '../../skills/run-skill.ts';
import type { Meter } from '../../inference/meter.ts';
import { getSkill, listSkill, listSkills, type ListedSkill } from '../../skills/skill-store.ts';
import { bazaarEntries } from '../../skills/skill-listings.ts';
import { agentValidations, skillReputation } from '../../skills/reputation.ts';
import { CodedError } from '../../util/coded-error.ts';

/** What the marketplace routes need of the node. */
export interface SkillRouteContext extends InferenceRouteContext {
  funds?: (consumer: Address) => Promise<ConsumerFunds>;
}

/** The node as the skill runtime needs it, with the escrow meter consumers' calls are reserved against. */
export function skillNode(ctx: SkillRouteContext): SkillNode & { meter?: Meter } {
  return {
    db: ctx.db, inference: inferenceNode(ctx), client: ctx.clients.publicClient,
    domain: { chainId: ctx.clients.chain.id, settlement: ctx.contracts.attributionSettlement.address },
    ...(ctx.meter ? { meter: ctx.meter } : {}),
  };
}

/** The node's x402 side (facilitator and resource server), built once per API. */
export function x402Of(ctx: SkillRouteContext): X402Node {
  return createX402({
    db: ctx.db, client: ctx.clients.publicClient, chainId: ctx.clients.chain.id, operator: ctx.clients.account.address,
    escrow: ctx.contracts.inferenceEscrow.address, openToken: ctx.contracts.openToken.address,
    funds: (c) => {
      if (!ctx.funds) throw new CodedError('not_metered', 'this node does not meter (no escrow meter)');
      return ctx.funds(c);
    },
  });
}

const treeOf = (r: SkillCallResult): unknown => ({
  callId: r.call.callId, skill: r.call.skill, agent: r.call.agent, payer: r.call.payer, price: r.call.price.toString(),
  inferenceReceipts: r.call.inferenceReceipts, children: r.children.map(treeOf),
});

/** The origin a caller reached the node at (where an x402 payer reads its funds). */
export const originOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

/**
 * The marketplace over HTTP: agents the node runs (taken on by their owners' signed requests),
 * skill folders listed for them, browsing with paid-call reputation, paid calls (API key, signed
 * request, or x402 with the node as facilitator), each call's tree with whom it paid, and the
 * standard listings: the A2A agent card and the ERC-8004 registration file.
 */
export function skillRoutes(app: FastifyInstance, ctx: SkillRouteContext, x402: X402Node = x402Of(ctx)): void {
  const signer = (request: FastifyRequest) => authenticate(ctx.db, { chainId: ctx.clients.chain.id, node: ctx.clients.account.address }, request);
  const agentView = async (a: Agent) => ({ ...a, canSign: await canSignFor(ctx.clients.publicClient, a).catch(() => false) });
  const skillViews = async (listed: ListedSkill[]) => {
    const stats = await skillCallStats(ctx.db, listed.map((l) => l.skill.id));
    const agents = new Map((await listAgents(ctx.db)).map((a) => [a.account, a]));
    return Promise.all(listed.map(async (l) => {
      const s = l.skill;
      const onChain = await ctx.contracts.skillRegistry.read.getSkill([s.id]).catch(() => null);
      const stat = stats.get(s.id);
      const agentId = agents.get(l.agent)?.agentId;
      const rep = agentId ? await skillReputation(ctx.contracts, BigInt(agentId), s.id).catch(() => null) : null;
      const validations = agentId ? await agentValidations(ctx.contracts, BigInt(agentId)).catch(() => null) : null;
      return {
        id: s.id, name: s.name, description: s.description, license: s.license, agent: l.agent, agentName: agents.get(l.agent)?.name ?? '',
        offer: { ...s.offer, price: s.offer.price.toString(), derivedFrom: s.offer.derivedFrom.map((d) => ({ ...d, cap: d.cap.toString() })) },
        listing: onChain && onChain.listedAt > 0n ? { agentId: onChain.agentId.toString(), bond: onChain.bond.toString(), active: onChain.active, termsHash: onChain.termsHash } : null,
        calls: { count: stat?.count ?? 0, paid: (stat?.paid ?? 0n).toString() },
        reputation: rep && { feedback: rep.feedback, score: rep.score, paid: rep.paid.toString() },
        validations,
        tool: s.tool,
        steps: s.workflow.steps.map((st) => (st.kind === 'prompt' ? st : { ...st, maxPrice: st.maxPrice.toString() })),
        output: s.workflow.output,
        createdAt: l.createdAt,
      };
    }));
  };
  const agentNamed = async (name: string) => {
    const a = await getAgent(ctx.db, name);
    if (!a) throw new CodedError('unknown_agent', `this node runs no agent named ${name}`);
    return a;
  };

  serveRoute(app, contract.createAgent, async (input, request, reply) => {
    const owner = await signer(request);
    const { name, agentId } = input.body;
    return reply.status(201).send(await agentView(await hostAgent({ db: ctx.db, contracts: ctx.contracts }, { name, agentId, owner })));
  });

  serveRoute(app, contract.listAgents, async () => ({ agents: await Promise.all((await listAgents(ctx.db)).map(agentView)) }));

  serveRoute(app, contract.getAgent, async ({ params }) => {
    const a = await agentNamed(params.name);
    return { ...(await agentView(a)), skills: await skillViews(await listSkills(ctx.db, { agent: a.account })) };
  });

  serveRoute(app, contract.getAgentCard, async ({ params }, request) => {
    const a = await agentNamed(params.name);
    return agentCard(a, (await listSkills(ctx.db, { agent: a.account })).map((l) => l.skill), originOf(request));
  });

  serveRoute(app, contract.getAgentRegistration, async ({ params }, request) => {
    const a = await agentNamed(params.name);
    return agentRegistration(a, originOf(request), { chainId: ctx.clients.chain.id, agentRegistry: ctx.contracts.agentRegistry.address });
  });

  serveRoute(app, contract.listSkill, async (input, request, reply) => {
    const owner = await signer(request);
    const { agent: name, name: folder, files } = input.body;
    const listed = await listSkill(ctx.db, {
      name: folder, agent: await agentNamed(name), signer: owner, files: files.map((f) => ({ path: f.path, bytes: new Uint8Array(Buffer.from(f.base64, 'base64')) })),
      known: { model: async (m) => (await ctx.models.resolve(m).then(() => true, () => false)) },
    });
    return reply.status(201).send((await skillViews([listed]))[0]);
  });

  serveRoute(app, contract.listSkills, async ({ query }) => {
    const agent = query.agent ? (await agentNamed(query.agent)).account : undefined;
    return { skills: await skillViews(await listSkills(ctx.db, { ...(agent ? { agent } : {}), ...(query.q ? { query: query.q } : {}) })) };
  });

  const listedSkill = async (id: Hex) => {
    const l = await getSkill(ctx.db, id);
    if (!l) throw new CodedError('unknown_skill', `no skill ${id} is listed here`);
    return l;
  };

  serveRoute(app, contract.getSkill, async ({ params }) => (await skillViews([await listedSkill(params.id)]))[0]);

  serveRoute(app, contract.callSkill, async (input, request, reply) => {
    const listed = await listedSkill(input.params.id);
    const { input: text, maxPrice: asked } = input.body;
    const paysDirectly = request.headers.authorization !== undefined || request.headers['x-openledger-signature'] !== undefined;
    if (paysDirectly) {
      const payer = await consumerOf(ctx, request);
      const r = await payAndCall(skillNode(ctx), { skill: listed.skill.id, input: text, payer, maxPrice: maxPriceOf(listed, asked) });
      return { callId: r.call.callId, output: r.output, price: r.call.price.toString(), payer, tree: treeOf(r) };
    }
    return x402Call(ctx, x402, request, reply, listed, text, asked);
  });

  serveRoute(app, contract.getSkillCall, async ({ params }) => {
    const t = await callTreePayouts(ctx, params.id);
    if (!t) throw new CodedError('not_found', `no call ${params.id} is recorded here`);
    return t;
  });

  serveRoute(app, contract.getSkillCallProof, async ({ params }) => {
    const p = await paidCallProof(ctx.db, ctx.clients.account.address, params.id);
    if (!p) throw new CodedError('not_found', `call ${params.id} is not in an epoch whose call root is posted (yet)`);
    return { ...p, leaf: { ...p.leaf, price: p.leaf.price.toString() } };
  });

  serveRoute(app, contract.x402Supported, async () => x402.facilitator.getSupported());
  serveRoute(app, contract.x402Verify, async ({ body }) => x402.facilitator.verify(body.paymentPayload as never, body.paymentRequirements as never));
  serveRoute(app, contract.x402Settle, async ({ body }) => x402.facilitator.settle(body.paymentPayload as never, body.paymentRequirements as never));
}

/** A skill call paid with x402: 402 with what to pay, or the answer with the PAYMENT-RESPONSE of what it charged. */
async function x402Call(ctx: SkillRouteContext, x402: X402Node, request: FastifyRequest, reply: FastifyReply, listed: ListedSkill, input: string, asked: bigint | undefined) {
  const resource = { url: `${originOf(request)}${request.url}`, description: `${listed.skill.name}: ${listed.skill.description}`, maxAmount: maxPriceOf(listed, asked), origin: originOf(request), extensions: bazaarEntries(listed.skill).http };
  const header = request.headers['payment-signature'];
  let paid: VerifiedPayment;
  try {
    const payload: PaymentPayload | null = typeof header === 'string' ? decodePaymentSignatureHeader(header) : null;
    paid = await x402.verify(payload, resource);
  } catch (err) {
    if (!(err instanceof X402PaymentError)) {
      if (err instanceof CodedError) throw err;
      throw new CodedError('bad_payment', `the PAYMENT-SIGNATURE header cannot be read: ${(err as Error).message}`);
    }
    return reply.status(402).header('PAYMENT-REQUIRED', encodePaymentRequiredHeader(err.paymentRequired)).send({ error: err.code, message: err.message });
  }
  const r = await payAndCall(skillNode(ctx), { skill: listed.skill.id, input, payer: paid.payer, maxPrice: paid.maxAmount, x402: paid });
  const settled = await x402.settle(paid, r.call.price);
  return reply.header('PAYMENT-RESPONSE', encodePaymentResponseHeader(settled))
    .send({ callId: r.call.callId, output: r.output, price: r.call.price.toString(), payer: paid.payer, tree: treeOf(r) });
}
