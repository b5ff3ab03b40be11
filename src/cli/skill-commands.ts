import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePaymentResponseHeader } from '@x402/core/http';
import { wrapFetchWithPayment, x402Client } from '@x402/fetch';
import type { Command } from 'commander';
import { tmpdir } from 'node:os';
import { formatEther, getAddress, keccak256, stringToBytes, zeroHash, type Hex } from 'viem';
import { createModelLoader } from '../attribution/model-loader.ts';
import { createBackend } from '../model/create-backend.ts';
import { createBuiltinEngine } from '../serve/builtin-engine.ts';
import { rerunCall } from '../skills/rerun-call.ts';
import { apiModelSource } from './attribution-commands.ts';
import { routes, type RouteOutput } from '../api/contract/index.ts';
import { grantSessionKey, registerAgent } from '../chain/agent-accounts.ts';
import { StakingRole } from '../chain/staking-role.ts';
import { payOpen } from '../chain/open-payment.ts';
import { STAKERS_POOL } from '../settlement/call-tree-payouts.ts';
import { EscrowSchemeClient } from '../settlement/x402-escrow.ts';
import { readSkillFolder } from '../skills/skill-folder.ts';
import { skillTermsHash } from '../skills/skill-listings.ts';
import { feedbackTags, RERUN_TAG } from '../skills/reputation.ts';
import { callRoute, chainFor, CliError, signingAccount, type NodeOptions } from './api-client.ts';
import { nodeOptions, openArg } from './options.ts';

const OPEN = (wei: string | bigint) => `${formatEther(BigInt(wei))} OPEN`;
type Skill = RouteOutput<typeof routes.getSkill>;
type PayoutNode = RouteOutput<typeof routes.getSkillCall>['root'];

/** A skill by id, or by name among the node's skills (one match). */
async function findSkill(api: string, which: string): Promise<Skill> {
  if (/^0x[0-9a-fA-F]{64}$/.test(which)) return callRoute(api, routes.getSkill, { params: { id: which } });
  const { skills } = await callRoute(api, routes.listSkills, { query: { q: which } });
  const named = skills.filter((s) => s.name === which);
  if (named.length !== 1) throw new CliError(named.length === 0 ? `no skill named ${which} on this node (openledger skill list)` : `${named.length} skills are named ${which}: pass its id`);
  return named[0]!;
}

const priceText = (s: Skill) => (s.offer.pricing === 'flat' ? OPEN(s.offer.price) : s.offer.pricing === 'per-1k-tokens' ? `${OPEN(s.offer.price)} / 1k tokens` : `costs + ${OPEN(s.offer.price)}`);

/** Draws a call tree down to whom each call paid. */
function printTree(n: PayoutNode, skills: Map<string, string>, depth = 0): void {
  const pad = '  '.repeat(depth);
  console.log(`${pad}call ${n.call.callId.slice(0, 10)}…  ${skills.get(n.call.skill) ?? n.call.skill.slice(0, 10)}  by ${n.call.agent}  price ${OPEN(n.call.price)}  paid by ${n.call.payer}`);
  for (const i of n.inferences) {
    console.log(`${pad}  inference ${i.receiptId.slice(0, 10)}…  ${i.model}  fee ${OPEN(i.fee)}  ${i.contributions.length} contribution${i.contributions.length === 1 ? '' : 's'} credited`);
  }
  const byRole = new Map<string, Array<{ payee: string; amount: bigint }>>();
  for (const p of n.payouts) byRole.set(p.role, [...(byRole.get(p.role) ?? []), { payee: p.payee, amount: BigInt(p.amount) }]);
  for (const [role, ps] of byRole) {
    const total = ps.reduce((s, p) => s + p.amount, 0n);
    const to = ps.length > 1 ? `${ps.length} payees` : ps[0]!.payee === STAKERS_POOL ? "the stakers' pool (divided by stake in the epoch)" : ps[0]!.payee;
    console.log(`${pad}  ${role.padEnd(15)} ${OPEN(total).padStart(26)}  to ${to}`);
  }
  for (const c of n.children) printTree(c, skills, depth + 1);
}

/** `openledger agent create|list`, `openledger validator stake` and `openledger skill publish|list|call|rate|request-validation|validate|tree`. */
export function skillCommands(program: Command, urlArg: (v: string) => string): void {
  const agent = program.command('agent').description('agents: ERC-8004 identities this node runs, each with an ERC-6551 account as its treasury');

  nodeOptions(agent.command('create').description('register an agent on chain (you own its token), have this node run it, and grant the node a session key to sign its calls').argument('<name>', 'lowercase letters, digits and hyphens'), urlArg)
    .option('--days <n>', 'days the session key stays valid', Number, 365)
    .action(async (name: string, o: NodeOptions & { days: number }) => {
      const account = signingAccount(o);
      const { clients, contracts } = await chainFor(o.api, account);
      const { agentId, account: wallet } = await registerAgent(clients, contracts, `${o.api}/agents/${name}/registration.json`);
      console.log(`registered agent ${agentId}: its account (treasury) is ${wallet}`);
      const hosted = await callRoute(o.api, routes.createAgent, { body: { name, agentId: agentId.toString() } }, { signer: account });
      // the node's key signs the agent's calls; it spends nothing (sub-skills are paid from the caller's budget)
      await grantSessionKey(clients, wallet, hosted.sessionKey, { perCallCap: 0n, periodCap: 0n, periodSeconds: 0n, expiry: BigInt(Math.floor(Date.now() / 1000) + Math.round(o.days * 86_400)), canSign: true, allowedTargets: [] });
      console.log(`the node runs ${name} and signs its calls with session key ${hosted.sessionKey} (granted for ${o.days} days; revoke it on the account, or sell the token, to stop it)`);
    });

  nodeOptions(agent.command('list').description('the agents this node runs'), urlArg).action(async (o: NodeOptions) => {
    const { agents } = await callRoute(o.api, routes.listAgents, {});
    if (agents.length === 0) return console.log('no agents yet: openledger agent create <name>');
    for (const a of agents) console.log(`${a.name.padEnd(24)} agent ${a.agentId.padEnd(6)} account ${a.account}  owner ${a.owner}${a.canSign ? '' : '  (session key not granted: the node cannot sign its calls)'}`);
  });

  nodeOptions(program.command('validator').description('validators: staked accounts that re-run skill calls and answer in the ValidationRegistry').command('stake').description('bond OPEN as a validator (an on-chain transaction from your account)').argument('<amount>', 'OPEN', openArg), urlArg)
    .action(async (amount: bigint, o: NodeOptions) => {
      const account = signingAccount(o);
      const { clients, contracts } = await chainFor(o.api, account);
      const wait = async (hash: Hex) => {
        if ((await clients.publicClient.waitForTransactionReceipt({ hash })).status !== 'success') throw new CliError(`transaction ${hash} reverted`);
      };
      await wait(await contracts.staking.write.stake([StakingRole.Validator, 0n, amount], await payOpen(contracts, contracts.staking.address, amount, wait)));
      console.log(`${OPEN(amount)} bonded as a validator by ${account.address}`);
    });

  const skill = program.command('skill').description('skills: Agent Skills folders sold per call, paying the data behind every answer');

  nodeOptions(skill.command('publish').description("list a skill folder (SKILL.md, workflow.json, tool.json) for one of your agents, and bond it in the SkillRegistry").argument('<folder>'), urlArg)
    .requiredOption('--agent <name>', 'the agent that sells it')
    .option('--bond <OPEN>', 'listing bond (default: the registry minimum)', openArg)
    .option('--no-bond', 'list on this node only, not in the SkillRegistry')
    .action(async (folder: string, o: NodeOptions & { agent: string; bond?: bigint | false }) => {
      const account = signingAccount(o);
      const read = await readSkillFolder(folder);
      const files = read.files.map((f) => ({ path: f.path, base64: readFileSync(join(folder, f.path)).toString('base64') }));
      const listed = await callRoute(o.api, routes.listSkill, { body: { agent: o.agent, name: read.name, files } }, { signer: account });
      console.log(`listed ${listed.name} (${listed.id}) for ${o.agent}: ${priceText(listed)}, data royalty ${listed.offer.dataRoyaltyBps / 100} % of the margin`);
      if (o.bond === false) return;
      const { clients, contracts } = await chainFor(o.api, account);
      const bond = o.bond ?? (await contracts.skillRegistry.read.minimumListingBond());
      const a = await callRoute(o.api, routes.getAgent, { params: { name: o.agent } });
      const wait = async (hash: Hex) => {
        const r = await clients.publicClient.waitForTransactionReceipt({ hash });
        if (r.status !== 'success') throw new CliError(`transaction ${hash} reverted`);
      };
      await wait(await contracts.skillRegistry.write.list([BigInt(a.agentId), read.id, skillTermsHash(read), `${o.api}/skills/${read.id}`, bond], await payOpen(contracts, contracts.skillRegistry.address, bond, wait)));
      console.log(`bonded ${OPEN(bond)} in the SkillRegistry (terms ${skillTermsHash(read)})`);
    });

  nodeOptions(skill.command('list').description('browse and search the skills sold here, with their paid-call reputation'), urlArg)
    .option('--q <text>', 'names and descriptions containing it')
    .option('--agent <name>', "one agent's skills")
    .action(async (o: NodeOptions & { q?: string; agent?: string }) => {
      const { skills } = await callRoute(o.api, routes.listSkills, { query: { ...(o.q ? { q: o.q } : {}), ...(o.agent ? { agent: o.agent } : {}) } });
      if (skills.length === 0) return console.log('no skills');
      for (const s of skills) {
        const rated = (s.reputation?.feedback ? `  rated ${s.reputation.score!.toFixed(0)}/100 by ${s.reputation.feedback} payer${s.reputation.feedback === 1 ? '' : 's'}` : '')
          + (s.validations?.count ? `  agent validated ${s.validations.average}/100 by ${s.validations.count} re-run${s.validations.count === 1 ? '' : 's'}` : '');
        console.log(`${s.name.padEnd(28)} ${priceText(s).padEnd(28)} by ${s.agentName.padEnd(18)} ${s.calls.count} paid call${s.calls.count === 1 ? '' : 's'} (${OPEN(s.calls.paid)})${rated}${s.offer.datanets.length ? `  datanets ${s.offer.datanets.join(', ')}` : ''}${s.listing ? `  bond ${OPEN(s.listing.bond)}` : '  (not bonded)'}`);
        console.log(`${''.padEnd(28)} ${s.id}  ${s.description}`);
      }
    });

  nodeOptions(skill.command('call').description('call a skill, paying with x402 from your escrow deposit (openledger deposit first)').argument('<skill>', 'its id or name').argument('<input>', 'what it works on'), urlArg)
    .option('--max-price <OPEN>', 'the most you pay (needed for skills not priced flat)', openArg)
    .action(async (which: string, input: string, o: NodeOptions & { maxPrice?: bigint }) => {
      const account = signingAccount(o);
      const s = await findSkill(o.api, which);
      const status = await callRoute(o.api, routes.getStatus, {});
      const cap = o.maxPrice ?? BigInt(s.offer.price);
      const client = new x402Client().register('eip155:*', new EscrowSchemeClient(account))
        .setSpendControls({ allowedAssets: [{ network: `eip155:${status.chain.id}`, asset: status.contracts.openToken, maxAmountPerPayment: cap.toString() }] });
      const res = await wrapFetchWithPayment(fetch, client)(`${o.api}/skills/${s.id}/call`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input, ...(o.maxPrice !== undefined ? { maxPrice: o.maxPrice.toString() } : {}) }),
      }).catch((err: Error) => {
        throw new CliError(`the call was not paid: ${err.message}`);
      });
      const body = (await res.json()) as { callId?: Hex; output?: string; price?: string; message?: string };
      if (!res.ok) throw new CliError(`${s.name}: ${body.message ?? res.statusText} (${res.status})`);
      const settled = res.headers.get('payment-response');
      console.log(body.output);
      console.log(`\ncall ${body.callId}: ${OPEN(body.price!)}${settled ? ` (settled: ${decodePaymentResponseHeader(settled).success ? 'yes' : 'no'}; drawn from your escrow at the next epoch)` : ''} — openledger skill tree ${body.callId}`);
    });

  nodeOptions(skill.command('rate').description("rate a call you paid for, in the ReputationRegistry (once per call, weighted by what it paid; after its epoch is final)").argument('<call>', 'a call id').argument('<score>', '0 to 100'), urlArg)
    .option('--comment <uri>', 'a URI of what you have to say (feedbackURI)')
    .action(async (callId: string, scoreText: string, o: NodeOptions & { comment?: string }) => {
      const score = Number(scoreText);
      if (!Number.isInteger(score) || score < 0 || score > 100) throw new CliError(`the score must be a whole number from 0 to 100, not ${scoreText}`);
      const account = signingAccount(o);
      const p = await callRoute(o.api, routes.getSkillCallProof, { params: { id: callId } });
      const { clients, contracts } = await chainFor(o.api, account);
      const agentId = await contracts.agentRegistry.read.agentOfWallet([p.leaf.agent]);
      const { tag1, tag2 } = feedbackTags(p.leaf.skill);
      const leaf = { ...p.leaf, price: BigInt(p.leaf.price) };
      const hash = await contracts.reputationRegistry.write.giveFeedback([agentId, BigInt(score), 0, tag1, tag2, `${o.api}/skill-calls/${callId}`, o.comment ?? '', zeroHash, { operator: p.operator, epoch: BigInt(p.epoch), leaf, proof: p.proof }]);
      const r = await clients.publicClient.waitForTransactionReceipt({ hash });
      if (r.status !== 'success') throw new CliError(`the feedback transaction ${hash} reverted`);
      console.log(`rated call ${callId} ${score}/100 for agent ${agentId} (weighted by the ${OPEN(p.leaf.price)} it paid)`);
    });

  nodeOptions(skill.command('request-validation').description("ask a staked validator to re-run a call of your agent and answer in the ValidationRegistry (the agent's owner)").argument('<call>', 'a call id'), urlArg)
    .requiredOption('--validator <0x…>', "the validator's address")
    .action(async (callId: string, o: NodeOptions & { validator: string }) => {
      const account = signingAccount(o);
      const { clients, contracts } = await chainFor(o.api, account);
      const t = await callRoute(o.api, routes.getSkillCall, { params: { id: callId } });
      const agentId = await contracts.agentRegistry.read.agentOfWallet([t.root.call.agent]);
      const hash = await contracts.validationRegistry.write.validationRequest([getAddress(o.validator), agentId, `${o.api}/skill-calls/${t.root.call.callId}`, t.root.call.callId]);
      if ((await clients.publicClient.waitForTransactionReceipt({ hash })).status !== 'success') throw new CliError(`the request ${hash} reverted`);
      console.log(`asked ${o.validator} to validate call ${t.root.call.callId} of agent ${agentId}`);
    });

  nodeOptions(skill.command('validate').description('re-run a call and every call under it from what was recorded, with your own copy of each model (a staked validator answers with --respond)').argument('<call>', 'a call id'), urlArg)
    .option('--respond', 'answer the validation request in the ValidationRegistry: 100 when it re-runs exactly, 0 otherwise')
    .option('--base-dir <dir>', "the base model's folder (default: the node's, when it is on this machine)")
    .action(async (callId: string, o: NodeOptions & { respond?: boolean; baseDir?: string }) => {
      const t = await callRoute(o.api, routes.getSkillCall, { params: { id: callId } });
      const status = await callRoute(o.api, routes.getStatus, {});
      const backend = createBackend();
      try {
        const models = createModelLoader({ source: apiModelSource(o.api, o.baseDir), backend, cacheDir: join(tmpdir(), 'openledger-validate') });
        const engine = createBuiltinEngine({ loadBase: (b) => models.base(b.id) });
        const problems = await rerunCall(t.root, {
          operator: status.nodeAccount,
          workflow: async (id) => {
            const s = await callRoute(o.api, routes.getSkill, { params: { id } });
            return { steps: s.steps.map((st) => (st.kind === 'prompt' ? { id: st.id, kind: 'prompt', model: st.model!, prompt: st.prompt!, maxTokens: st.maxTokens! } : { id: st.id, kind: 'call', skill: st.skill!, input: st.input!, maxPrice: BigInt(st.maxPrice!) })), output: s.output };
          },
          receipt: (id) => callRoute(o.api, routes.getReceipt, { params: { receiptId: id } }),
          async generate(model, prompt, maxTokens) {
            const m = await models.resolve(model);
            try {
              return (await engine.complete(m.served, { prompt, maxTokens, temperature: 0, topP: 1, seed: 0, stop: [] })).text;
            } finally {
              if (m.kind === 'published') m.loaded.release();
            }
          },
        });
        for (const p of problems) console.log(`  ${p}`);
        const verdict = problems.length === 0 ? 100 : 0;
        console.log(problems.length === 0 ? `call ${t.root.call.callId} re-runs exactly: every prompt, answer and child as its workflow makes them` : `call ${t.root.call.callId} does not re-run as recorded (${problems.length} problem${problems.length === 1 ? '' : 's'})`);
        if (o.respond) {
          const account = signingAccount(o);
          const { clients, contracts } = await chainFor(o.api, account);
          const evidence = JSON.stringify({ callId: t.root.call.callId, problems });
          const hash = await contracts.validationRegistry.write.validationResponse([t.root.call.callId, verdict, `data:application/json,${encodeURIComponent(evidence)}`, keccak256(stringToBytes(evidence)), RERUN_TAG]);
          if ((await clients.publicClient.waitForTransactionReceipt({ hash })).status !== 'success') throw new CliError(`the response ${hash} reverted`);
          console.log(`answered ${verdict}/100 in the ValidationRegistry`);
        }
        if (problems.length > 0) process.exitCode = 1;
      } finally {
        await backend.dispose();
      }
    });

  nodeOptions(skill.command('tree').description('a call drawn down to whom it paid: agents, models, datanets, contributors').argument('<call>', 'a call id'), urlArg).action(async (callId: string, o: NodeOptions) => {
    const t = await callRoute(o.api, routes.getSkillCall, { params: { id: callId } });
    const { skills } = await callRoute(o.api, routes.listSkills, {});
    printTree(t.root, new Map(skills.map((s) => [s.id, s.name])));
    console.log(t.epoch ? `settled in epoch ${t.epoch}` : 'not settled yet (the next epoch settles it)');
  });
}
