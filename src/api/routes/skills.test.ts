/**
 * The marketplace through its standard doors, with unmodified clients: an agent published by its
 * owner (ERC-8004 token, ERC-6551 account, session key), a skill listed from its folder; the A2A SDK
 * reads the agent card; an x402 client (`@x402/fetch`) pays an HTTP call; the official MCP SDK
 * client lists the paid tool and calls it with an x402 payment in `_meta`; replayed payments are
 * refused; each call's tree shows whom it paid, and the epoch settles them.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DefaultAgentCardResolver } from '@a2a-js/sdk/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentRequired } from '@x402/core/types';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import { validateDiscoveryExtension } from '@x402/extensions/bazaar';
import type { FastifyInstance } from 'fastify';
import { parseEther, type Hex } from 'viem';
import { grantSessionKey, registerAgent } from '../../chain/agent-accounts.ts';
import { OWNER, type FactoryTestContext } from '../../factory/test-context.ts';
import { startPaidNodeTestContext, type PaidNodeTestContext } from '../../settlement/test-paid-node.ts';
import { runEpoch } from '../../settlement/epoch.ts';
import { EscrowSchemeClient } from '../../settlement/x402-escrow.ts';
import { createApiClient } from '../contract/client.ts';
import { routes } from '../contract/index.ts';
import { buildApi } from '../server.ts';

const CONSUMER = 7, PRICE = parseEther('0.01');
let f: FactoryTestContext;
let n: PaidNodeTestContext;
let app: FastifyInstance;
let api: string;
let skillId: Hex;

before(async () => {
  n = await startPaidNodeTestContext({ price: PRICE, consumers: [CONSUMER] });
  f = n.f;
  app = buildApi({
    ...f.ctx, models: n.models, engine: n.engine, meter: n.meter, funds: n.meter.funds,
    rpcUrl: f.t.anvil.url, embeddedChain: false, addresses: f.t.addresses, version: 'test', logLevel: 'silent', checkResponses: true,
  });
  api = await app.listen({ port: 0, host: '127.0.0.1' });
  await n.deposit(CONSUMER, parseEther('5'));
});

after(async () => {
  await app?.close();
  await n?.stop();
});

const ownerApi = () => createApiClient({ baseUrl: api, signer: f.t.accounts[OWNER]! });

test("an owner publishes an agent and a skill; the registration file and the A2A agent card (read by the A2A SDK) list it", async () => {
  const owner = await f.t.clients(OWNER);
  const { agentId, account } = await registerAgent(owner, await f.t.as(OWNER), `${api}/agents/summariser/registration.json`);
  // only the token's owner can have the node run it
  await assert.rejects(createApiClient({ baseUrl: api, signer: f.t.accounts[CONSUMER]! }).call(routes.createAgent, { body: { name: 'summariser', agentId: agentId.toString() } }), /belongs to/);
  const agent = await ownerApi().call(routes.createAgent, { body: { name: 'summariser', agentId: agentId.toString() } });
  assert.equal(agent.account, account);
  assert.equal(agent.canSign, false, 'not until the owner grants the key');
  await grantSessionKey(owner, account, agent.sessionKey, { perCallCap: 0n, periodCap: 0n, periodSeconds: 0n, expiry: BigInt(Math.floor(Date.now() / 1000) + 30 * 86_400), canSign: true, allowedTargets: [] });
  assert.equal((await ownerApi().call(routes.getAgent, { params: { name: 'summariser' } })).canSign, true);

  const dir = join(f.dir, 'answer-facts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'SKILL.md'), '---\nname: answer-facts\ndescription: Answers a question about the facts datanet\nlicense: Apache-2.0\nmetadata:\n  openledger-models: facts-qa\n  openledger-pricing: flat\n  openledger-price: "0.05"\n  openledger-data-royalty-bps: "2000"\n---\nAnswer the question.\n');
  writeFileSync(join(dir, 'workflow.json'), JSON.stringify({ steps: [{ id: 'answer', prompt: '{{input}}', maxTokens: 12 }] }));
  const files = ['SKILL.md', 'workflow.json'].map((p) => ({ path: p, base64: readFileSync(join(dir, p)).toString('base64') }));
  await assert.rejects(createApiClient({ baseUrl: api, signer: f.t.accounts[CONSUMER]! }).call(routes.listSkill, { body: { agent: 'summariser', name: 'answer-facts', files } }), /belongs to/);
  const skill = await ownerApi().call(routes.listSkill, { body: { agent: 'summariser', name: 'answer-facts', files } });
  skillId = skill.id;
  assert.equal(skill.offer.price, parseEther('0.05').toString());
  await assert.rejects(ownerApi().call(routes.listSkill, { body: { agent: 'summariser', name: 'answer-facts', files } }), /listed already/);
  assert.deepEqual((await ownerApi().call(routes.listSkills, { query: { q: 'facts' } })).skills.map((s) => s.id), [skillId]);

  const registration = await (await fetch(`${api}/agents/summariser/registration.json`)).json() as { type: string; services: Array<{ name: string; endpoint: string }>; registrations: Array<{ agentId: number }> };
  assert.equal(registration.type, 'https://eips.ethereum.org/EIPS/eip-8004#registration-v1');
  assert.equal(registration.registrations[0]!.agentId, Number(agentId));
  assert.ok(registration.services.some((s) => s.name === 'MCP' && s.endpoint.endsWith('/agents/summariser/mcp')));
  const card = await new DefaultAgentCardResolver().resolve(`${api}/agents/summariser/`);
  assert.equal(card.name, 'summariser');
  assert.deepEqual(card.skills.map((s) => s.id), [skillId]);
});

test('an x402 client (@x402/fetch, unmodified) pays an HTTP skill call; the same payment cannot pay a second call', async () => {
  const payer = f.t.accounts[CONSUMER]!;
  const client = new x402Client().register('eip155:*', new EscrowSchemeClient(payer))
    .setSpendControls({ allowedAssets: [{ network: 'eip155:31337', asset: f.t.addresses.openToken, maxAmountPerPayment: parseEther('1').toString() }] });
  let sent: string | undefined;
  const spy: typeof fetch = async (input, init) => {
    const req = new Request(input, init);
    sent = req.headers.get('payment-signature') ?? sent;
    return fetch(req);
  };
  const body = JSON.stringify({ input: 'What is Zorvania known for?' });
  const unpaid = await fetch(`${api}/skills/${skillId}/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(unpaid.status, 402);
  const required = decodePaymentRequiredHeader(unpaid.headers.get('payment-required')!);
  assert.equal(required.accepts[0]!.scheme, 'openledger-escrow');
  assert.equal(required.accepts[0]!.amount, parseEther('0.05').toString());
  // its x402 Bazaar discovery entry, as the Bazaar's own validator reads it
  assert.equal(validateDiscoveryExtension(required.extensions!.bazaar as never).valid, true);

  const res = await wrapFetchWithPayment(spy, client)(`${api}/skills/${skillId}/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 200, await res.clone().text());
  const answer = await res.json() as { callId: Hex; price: string; payer: string; output: string };
  assert.equal(answer.payer, payer.address);
  assert.equal(answer.price, parseEther('0.05').toString());
  const settled = decodePaymentResponseHeader(res.headers.get('payment-response')!);
  assert.equal(settled.success, true);
  assert.equal(settled.amount, answer.price);
  assert.equal(settled.transaction, answer.callId, 'the settlement names the call it paid (drawn at the next epoch)');

  // the same payment again, for this skill or for another resource
  const replay = await fetch(`${api}/skills/${skillId}/call`, { method: 'POST', headers: { 'content-type': 'application/json', 'payment-signature': sent! }, body });
  assert.equal(replay.status, 402);
  assert.match((await replay.json() as { message: string }).message, /paid a request already/);

  // a payment signed for another chain (or escrow) is another chain's: refused
  const elsewhere = await new x402Client().register('eip155:*', new EscrowSchemeClient(payer)).setSpendControls(false).createPaymentPayload({ ...required, accepts: [{ ...required.accepts[0]!, network: 'eip155:1' }] });
  const foreign = await fetch(`${api}/skills/${skillId}/call`, { method: 'POST', headers: { 'content-type': 'application/json', 'payment-signature': encodePaymentSignatureHeader(elsewhere) }, body });
  assert.equal(foreign.status, 402);
  assert.equal((await foreign.json() as { error: string }).error, 'payment_mismatch');

  const tree = await ownerApi().call(routes.getSkillCall, { params: { id: answer.callId } });
  assert.equal(tree.epoch, null);
  const paidOut = tree.root.payouts.reduce((n, p) => n + BigInt(p.amount), 0n);
  assert.equal(paidOut, parseEther('0.05'), 'the tree shows every wei of the price paid to someone');
  assert.ok(tree.root.payouts.some((p) => p.role === 'skill_agent'));
});

test('the official MCP SDK client lists the paid tool and calls it, paying with x402 in _meta', async () => {
  const mcp = new Client({ name: 'test', version: '1.0.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${api}/agents/summariser/mcp`)));
  const { tools } = await mcp.listTools();
  assert.deepEqual(tools.map((t) => t.name), ['answer-facts']);
  assert.equal(tools[0]!._meta?.['openledger/skill'], skillId);
  const unpaid = await mcp.callTool({ name: 'answer-facts', arguments: { input: 'What is Zorvania known for?' } });
  assert.equal(unpaid.isError, true);
  const required = unpaid.structuredContent as unknown as PaymentRequired;
  assert.equal(required.accepts[0]!.scheme, 'openledger-escrow');
  const payer = new x402Client().register('eip155:*', new EscrowSchemeClient(f.t.accounts[CONSUMER]!))
    .setSpendControls({ allowedAssets: [{ network: 'eip155:31337', asset: f.t.addresses.openToken, maxAmountPerPayment: parseEther('1').toString() }] });
  const payment = await payer.createPaymentPayload(required);
  const paid = await mcp.callTool({ name: 'answer-facts', arguments: { input: 'What is Zorvania known for?' }, _meta: { 'x402/payment': payment } });
  assert.notEqual(paid.isError, true, JSON.stringify(paid.content));
  const settled = paid._meta?.['x402/payment-response'] as { success: boolean; amount: string };
  assert.equal(settled.success, true);
  assert.equal(settled.amount, parseEther('0.05').toString());
  const again = await mcp.callTool({ name: 'answer-facts', arguments: { input: 'again' }, _meta: { 'x402/payment': payment } });
  assert.equal(again.isError, true, 'a payment pays one call');
  await mcp.close();

  const out = await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts, indexChain: f.indexChain });
  assert.equal(out.kind, 'posted');
  if (out.kind === 'posted') assert.equal(out.funded, parseEther('0.1'), 'both calls drawn from the consumer: exactly their prices');
});
