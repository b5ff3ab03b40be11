/**
 * One consumer payment down a three-level tree of agents (A calls B, which calls C; each runs
 * inferences of a model trained on a datanet) on a real chain and store: the ledger refuses the
 * structural frauds as calls arrive; the epoch settles the tree with the receipts it paid; a
 * verifier recomputes it from what the node serves; every contributor behind every inference is
 * paid exactly its share, the sums are exact, and claims never exceed what was drawn.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bytesToHex, keccak256, parseEther, stringToBytes, zeroHash, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { getReceipt, getReceipts } from '../attribution/receipts.ts';
import { signSpendAuthorization } from '../chain/spend-authorization.ts';
import { CONTRIBUTORS, learntQuestion, OWNER, type FactoryTestContext } from '../factory/test-context.ts';
import { startPaidNodeTestContext, type PaidNodeTestContext } from '../settlement/test-paid-node.ts';
import { runInference } from '../inference/run-inference.ts';
import { acceptAuthorization } from '../settlement/authorizations.ts';
import { runEpoch } from '../settlement/epoch.ts';
import { readServedEpoch } from '../settlement/epoch-inputs.ts';
import { createEscrowMeter } from '../settlement/meter.ts';
import { rewardsOf } from '../settlement/rewards.ts';
import { ROOT_PARENT, signSkillCall, type SkillCall } from '../settlement/skill-call.ts';
import { callBudget, callTree, pruneUnfinishedCalls, recordSkillCall } from '../settlement/skill-calls.ts';
import { auditEpoch } from '../settlement/audit-epoch.ts';
import { hostAgent, type Agent } from './agents.ts';
import { feedbackTags, skillReputation } from './reputation.ts';
import { callRoot } from '../settlement/call-root.ts';
import { callTreePayouts, paidCallProof } from '../settlement/call-tree-payouts.ts';
import { expectRevert } from '../chain/test-chain.ts';
import { grantSessionKey, registerAgent } from '../chain/agent-accounts.ts';
import { callSkill, type SkillNode } from './run-skill.ts';
import { MAX_CALL_DEPTH } from '../settlement/call-tree.ts';
import { readSkillFolder } from './skill-folder.ts';
import { getSkill, listSkill } from './skill-store.ts';
import { rerunCall, type RerunDeps } from './rerun-call.ts';

const NODE = 0, CONSUMER = 7, PRICE = parseEther('0.01'); // per 1,000 tokens
let f: FactoryTestContext;
let n: PaidNodeTestContext;
let node: SkillNode;
let meter: ReturnType<typeof createEscrowMeter>;
let question: string;
const agents: Record<'a' | 'b' | 'c', Agent> = {} as never;
const skills: Record<'a' | 'b' | 'c', Hex> = {} as never;

/** Writes a skill folder (SKILL.md with our offer, and its workflow) and lists it for `agent`. */
async function publish(name: string, agent: Agent, offer: Record<string, string>, workflow: unknown): Promise<Hex> {
  const dir = join(f.dir, 'skills', name);
  mkdirSync(dir, { recursive: true });
  const meta = Object.entries({ 'openledger-models': 'facts-qa', ...offer }).map(([k, v]) => `  ${k}: "${v}"`).join('\n');
  writeFileSync(join(dir, 'SKILL.md'), `---\nname: ${name}\ndescription: ${name} answers questions about the facts datanet\nmetadata:\n${meta}\n---\nAnswer briefly.\n`);
  writeFileSync(join(dir, 'workflow.json'), JSON.stringify(workflow));
  const folder = await readSkillFolder(dir);
  const listed = await listSkill(f.db, { name, agent, signer: f.addr(OWNER), files: folder.files.map((x) => ({ path: x.path, bytes: new Uint8Array(readFileSync(join(dir, x.path))) })), known: { model: async (m) => m === 'facts-qa' } });
  assert.equal(listed.skill.id, folder.id, 'the node lists the id a reader of the folder computes');
  return listed.skill.id;
}

before(async () => {
  n = await startPaidNodeTestContext({ price: PRICE, consumers: [CONSUMER] });
  ({ f, meter } = n);
  const { inference } = n;
  node = { db: f.db, inference, client: f.ctx.clients.publicClient, domain: { chainId: 31337, settlement: f.t.addresses.attributionSettlement } };
  question = (await learntQuestion(f, async (prompt) => (await runInference(inference, { model: 'facts-qa', prompt, maxTokens: 24, temperature: 0, topP: 1, seed: 0, stop: [], consumer: null })).output)).prompt;
  await n.deposit(CONSUMER, parseEther('5'));
  const auth = { consumer: f.addr(CONSUMER), operator: f.addr(NODE), cumulativeAmount: parseEther('5'), nonce: 1n, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400) };
  const signature = await signSpendAuthorization(f.t.accounts[CONSUMER]!, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow }, auth);
  await acceptAuthorization(f.db, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow, client: f.ctx.clients.publicClient }, f.addr(NODE), auth, signature);

  // three agents on chain (ERC-8004 tokens with ERC-6551 accounts), each run by this node with a session key its owner grants
  const owner = await f.t.clients(OWNER);
  for (const k of ['a', 'b', 'c'] as const) {
    const { agentId } = await registerAgent(owner, await f.t.as(OWNER), `http://node.test/agents/agent-${k}/registration.json`);
    agents[k] = await hostAgent({ db: f.db, contracts: f.ctx.contracts }, { name: `agent-${k}`, agentId, owner: f.addr(OWNER) });
    await grantSessionKey(owner, agents[k].account, agents[k].sessionKey, { perCallCap: 0n, periodCap: 0n, periodSeconds: 0n, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400 * 30), canSign: true, allowedTargets: [] });
  }
  const prompt = (id: string) => ({ id, prompt: '{{input}}', model: 'facts-qa', maxTokens: 16 });
  skills.c = await publish('facts-c', agents.c, { 'openledger-pricing': 'flat', 'openledger-price': '0.02', 'openledger-data-royalty-bps': '2000' }, { steps: [prompt('one'), prompt('two')] });
  skills.b = await publish('facts-b', agents.b, { 'openledger-pricing': 'upto', 'openledger-price': '0.01', 'openledger-data-royalty-bps': '1000', 'openledger-derived-from': `${skills.c}:500:0.001` },
    { steps: [prompt('one'), { id: 'c', call: skills.c, input: '{{input}}', maxPrice: '0.05' }, prompt('two')], output: '{{steps.one}} / {{steps.c}}' });
  skills.a = await publish('facts-a', agents.a, { 'openledger-pricing': 'flat', 'openledger-price': '0.2', 'openledger-data-royalty-bps': '3000' },
    { steps: [prompt('one'), { id: 'b', call: skills.b, maxPrice: '0.1' }, prompt('two')] });
});

after(async () => {
  await n?.stop();
});

/** A consumer's call of A, reserved against its escrow like an inference and charged when recorded. */
async function consumerCalls(skill: Hex, input: string, maxPrice: bigint) {
  const reservation = await meter.reserve(f.addr(CONSUMER), maxPrice, 'a skill call');
  try {
    return await callSkill(node, { skill, input, payer: f.addr(CONSUMER), maxPrice, charge: reservation });
  } finally {
    await reservation.release();
  }
}

test('a three-level tree paid once: recorded, settled in one epoch with its receipts, and every payee claims exactly its share', async () => {
  const spentBefore = (await meter.funds(f.addr(CONSUMER))).spent;
  const r = await consumerCalls(skills.a, question, parseEther('0.5'));
  assert.equal(r.call.price, parseEther('0.2'), 'a flat price');
  assert.equal(r.children.length, 1);
  const b = r.children[0]!, c = b.children[0]!;
  assert.equal(b.call.payer, agents.a.account);
  assert.equal(c.call.payer, agents.b.account);
  assert.equal(c.call.price, parseEther('0.02'));
  for (const x of [r, b, c]) assert.equal(x.call.inferenceReceipts.length, 2, 'each call ran two inferences');
  assert.equal((await meter.funds(f.addr(CONSUMER))).spent - spentBefore, parseEther('0.2'), 'the consumer is charged the root price, once');
  // the receipts name their calls; none of them is charged to anyone
  const receipts = await getReceipts(f.db, [r, b, c].flatMap((x) => x.call.inferenceReceipts));
  for (const x of [r, b, c]) for (const id of x.call.inferenceReceipts) assert.equal(receipts.find((q) => q.id === id)!.body.call, x.call.callId);
  const charged = await f.db.query<{ receipt_id: string }>('select receipt_id from settlement_receipts where receipt_id = any($1)', [receipts.map((q) => q.id)]);
  assert.equal(charged.length, 0);
  const tree = await callTree(f.db, r.call.callId);
  assert.equal(tree.calls.length, 3);

  const out = await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts, indexChain: f.indexChain });
  assert.equal(out.kind, 'posted');
  if (out.kind !== 'posted') return;
  assert.equal(out.total, parseEther('0.2'), 'the credits sum to the one payment');
  assert.equal(out.funded, parseEther('0.2'), 'drawn from the consumer: exactly the price');
  const served = (await readServedEpoch(f.db, out.epoch))!;
  assert.equal(served.inputs.calls?.length, 3);
  assert.equal(served.inputs.receipts.length, 6);
  // an outside verifier recomputes the epoch, the calls' signatures and the payees from what is served
  const audit = await auditEpoch({ served: async (n) => (await readServedEpoch(f.db, n))!, contracts: f.ctx.contracts, publicClient: f.ctx.clients.publicClient, epoch: out.epoch });
  assert.deepEqual(audit.problems, []);

  // every contributor behind every inference is paid: its share of each fee, and of each call's data royalty
  const credits = await f.db.query<{ payee: Address; role: string; amount: string }>('select payee, role, amount::text from epoch_credits where epoch = $1', [out.epoch]);
  const credited = (who: Address, role: string) => credits.filter((x) => x.payee.toLowerCase() === who.toLowerCase() && x.role === role).reduce((n, x) => n + BigInt(x.amount), 0n);
  const behind = new Set(receipts.flatMap((q) => q.body.contributions.map((c) => c.contributionId)));
  assert.ok(behind.size > 0, 'the answers were attributed to contributions');
  const paidContributors = CONTRIBUTORS.map((k) => f.addr(k)).filter((a) => credited(a, 'contributor') > 0n);
  assert.ok(paidContributors.length > 0);
  for (const a of paidContributors) assert.ok(credited(a, 'data_royalty') > 0n, `${a} is paid a data royalty beside its fee share`);
  assert.ok(credited(agents.a.account, 'skill_agent') > 0n && credited(agents.b.account, 'skill_agent') > 0n && credited(agents.c.account, 'skill_agent') > 0n);
  const upstream = credited(agents.c.account, 'skill_upstream');
  assert.ok(upstream > 0n && upstream <= parseEther('0.001'), 'B pays C its upstream royalty, capped');
  assert.equal(credited(f.t.addresses.timelock, 'protocol'), parseEther('0.2') / 100n + b.call.price / 100n + c.call.price / 100n, 'the protocol fee of each call');
  assert.equal(credits.reduce((n, x) => n + BigInt(x.amount), 0n), parseEther('0.2'));

  await f.t.increaseTime(f.t.params.challengeWindow);
  let claimed = 0n;
  const payees = [...new Set(credits.map((x) => x.payee))];
  for (const payee of payees) {
    const rw = await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, payee);
    if (!rw.claim) continue;
    assert.equal(BigInt(rw.claimable), credits.filter((x) => x.payee === payee).reduce((n, x) => n + BigInt(x.amount), 0n), `${payee} claims exactly its credits`);
    await f.t.mined(f.ctx.contracts.attributionSettlement.write.claim([rw.claim.operator, payee, BigInt(rw.claim.cumulativeAmount), rw.claim.proof]));
    claimed += BigInt(rw.claimable);
  }
  assert.equal(claimed, parseEther('0.2'));
  const ledger = await f.ctx.contracts.attributionSettlement.read.ledgerOf([f.addr(NODE)]);
  assert.ok(ledger.claimed <= ledger.funded, 'claims never exceed what was drawn');

  // the epoch's call root is on chain: the consumer's call is a paid call there, and backs one feedback from its payer
  assert.equal(await f.ctx.contracts.skillCallRoots.read.callRootOf([f.addr(NODE), BigInt(out.epoch)]), callRoot(served.inputs.calls!));
  const proof = (await paidCallProof(f.db, f.addr(NODE), r.call.callId))!;
  assert.equal(await f.ctx.contracts.skillCallRoots.read.isPaidCall([proof.operator, BigInt(proof.epoch), proof.leaf, proof.proof]), true);
  const paidCall = { operator: proof.operator, epoch: BigInt(proof.epoch), leaf: proof.leaf, proof: proof.proof };
  const agentA = await f.ctx.contracts.agentRegistry.read.agentOfWallet([agents.a.account]);
  const { tag1, tag2 } = feedbackTags(skills.a);
  await expectRevert((await f.t.as(OWNER)).reputationRegistry.write.giveFeedback([agentA, 100n, 0, tag1, tag2, '', '', zeroHash, paidCall]), 'ReputationRegistrySelfFeedback');
  await expectRevert((await f.t.as(9)).reputationRegistry.write.giveFeedback([agentA, 100n, 0, tag1, tag2, '', '', zeroHash, paidCall]), 'ReputationRegistryNotPayer');
  const consumer = await f.t.as(CONSUMER);
  await f.t.mined(consumer.reputationRegistry.write.giveFeedback([agentA, 80n, 0, tag1, tag2, '', '', zeroHash, paidCall]));
  await expectRevert(consumer.reputationRegistry.write.giveFeedback([agentA, 100n, 0, tag1, tag2, '', '', zeroHash, paidCall]), 'ReputationRegistryCallAlreadyRated');
  assert.deepEqual(await skillReputation(f.ctx.contracts, agentA, skills.a), { feedback: 1, score: 80, paid: parseEther('0.2') });
});

test('a validator re-runs the three-level call from what was recorded, with its own copy of the model; a receipt or a child that is not what the workflow makes is found', async () => {
  const [row] = await f.db.query<{ call_id: Hex }>(`select call_id from skill_calls where parent_call_id = $1 and skill = $2`, [ROOT_PARENT, skills.a]);
  const tree = (await callTreePayouts({ db: f.db, contracts: f.ctx.contracts }, row!.call_id))!;
  const { models, engine } = node.inference;
  const deps: RerunDeps = {
    operator: f.addr(NODE),
    workflow: async (id) => (await getSkill(f.db, id))!.skill.workflow,
    receipt: async (id) => (await getReceipt(f.db, id))!,
    generate: async (model, prompt, maxTokens) => (await engine.complete((await models.resolve(model)).served, { prompt, maxTokens, temperature: 0, topP: 1, seed: 0, stop: [] })).text,
  };
  assert.deepEqual(await rerunCall(tree.root, deps), [], 'the honest tree re-runs exactly');
  // a receipt whose recorded answer is not what the model answers
  const forgedOutput = await rerunCall(tree.root, { ...deps, receipt: async (id) => ({ ...(await getReceipt(f.db, id))!, output: 'a made-up answer' }) });
  assert.ok(forgedOutput.some((p) => /answers .* here, the receipt says "a made-up answer"/.test(p)), forgedOutput.join('\n'));
  // a child given something else than its parent's workflow fills in
  const b = tree.root.children[0]!;
  const forgedChild = await rerunCall({ ...tree.root, children: [{ ...b, input: 'another question' }] }, deps);
  assert.ok(forgedChild.some((p) => /its input is not step b's input/.test(p)), forgedChild.join('\n'));
});

/** A call by agent C (payer = C itself, as a root here) recorded straight into the ledger, for the frauds below. */
async function signedBy(agentKey: Hex, over: Partial<SkillCall>): Promise<{ call: SkillCall; signature: Hex }> {
  const signer = privateKeyToAccount(agentKey);
  const call: SkillCall = {
    callId: bytesToHex(crypto.getRandomValues(new Uint8Array(32))), parentCallId: ROOT_PARENT, skill: skills.c, agent: signer.address, payer: f.addr(CONSUMER),
    price: parseEther('0.01'), inputHash: keccak256(stringToBytes('in')), outputHash: keccak256(stringToBytes('out')), inferenceReceipts: [], children: [], ...over,
  };
  return { call, signature: await signSkillCall(signer, node.domain, call) };
}

const ledger = () => ({ db: f.db, client: f.ctx.clients.publicClient, domain: node.domain });
const terms = { dataRoyaltyBps: 0, upstream: [] };
const texts = { input: 'in', output: 'out' };
const refusal = (code: string) => (e: Error & { code?: string }) => e.code === code;

test('the ledger refuses, as calls arrive, each structural fraud: another call\'s inference, an inference twice, a forged or unsigned child, costs over the price, a foreign signature, a replay on another chain', async () => {
  const charge = await meter.reserve(f.addr(CONSUMER), parseEther('0.05'), 'test');
  try {
    const key = generatePrivateKey();
    const agent = privateKeyToAccount(key).address;
    // an inference paid by an earlier call, claimed again
    const paidElsewhere = (await f.db.query<{ receipt_id: Hex }>('select receipt_id from skill_call_inferences limit 1'))[0]!.receipt_id;
    await assert.rejects(recordSkillCall(ledger(), { ...(await signedBy(key, { inferenceReceipts: [paidElsewhere] })), terms, texts }, charge), refusal('forged_inference'));
    // the meter refuses to pay one inference from two calls
    const budget = callBudget({ callId: keccak256(stringToBytes('x')), agent, cap: parseEther('1') });
    const res = await budget.meter.reserve(agent, 10n, 'x');
    await assert.rejects(f.db.transaction((tx) => res.charge(tx, { id: paidElsewhere, fee: 1n })), refusal('inference_counted_twice'));
    // another consumer's inference: the call's budget pays only its agent's
    await assert.rejects(budget.meter.reserve(f.addr(CONSUMER), 10n, 'x'), refusal('foreign_inference'));
    // a child the call signed but that was never made under it
    await assert.rejects(recordSkillCall(ledger(), { ...(await signedBy(key, { children: [keccak256(stringToBytes('made up'))] })), terms, texts }, charge), refusal('forged_child'));
    // a child recorded under the call that the call's signature leaves out (it would go unpaid)
    const parent = keccak256(stringToBytes('parent'));
    const kid = await signedBy(key, { parentCallId: parent, payer: agent, price: parseEther('0.001') });
    await recordSkillCall(ledger(), { ...kid, terms, texts });
    await assert.rejects(recordSkillCall(ledger(), { ...(await signedBy(key, { callId: parent })), terms, texts }, charge), refusal('forged_child'));
    // costs over the price: the child costs more than the parent's price
    await assert.rejects(recordSkillCall(ledger(), { ...(await signedBy(key, { callId: parent, children: [kid.call.callId], price: parseEther('0.001') })), terms, texts }, charge), refusal('over_budget'));
    // terms over the margin
    await assert.rejects(recordSkillCall(ledger(), { ...(await signedBy(key, {})), terms: { dataRoyaltyBps: 9000, upstream: [{ payee: agent, bps: 2000, cap: 1n }] }, texts }, charge), refusal('bad_terms'));
    // signed by someone other than the agent it names
    const forged = await signedBy(generatePrivateKey(), {});
    await assert.rejects(recordSkillCall(ledger(), { call: { ...forged.call, agent }, signature: forged.signature, terms, texts }, charge), refusal('bad_signature'));
    // a call signed for another chain (or settlement contract) is not this one's
    const other = privateKeyToAccount(key);
    const call = (await signedBy(key, {})).call;
    const elsewhere = await signSkillCall(other, { chainId: 1, settlement: node.domain.settlement }, call);
    await assert.rejects(recordSkillCall(ledger(), { call, signature: elsewhere, terms, texts }, charge), refusal('bad_signature'));
    // an input or output other than the one its hashes sign
    await assert.rejects(recordSkillCall(ledger(), { ...(await signedBy(key, {})), terms, texts: { input: 'in', output: 'another answer' } }, charge), refusal('text_mismatch'));
    // a consumer's call that nothing charges
    await assert.rejects(recordSkillCall(ledger(), { ...(await signedBy(key, {})), terms, texts }), refusal('unpaid_call'));
  } finally {
    await charge.release();
  }
});

test("a flat-priced skill whose calls could cost more than its price leaves is refused at listing", async () => {
  await assert.rejects(publish('too-cheap', agents.a, { 'openledger-pricing': 'flat', 'openledger-price': '0.02' }, { steps: [{ id: 'c', call: skills.c, maxPrice: '0.02' }] }), refusal('over_budget'));
});

test('a chain of agents calling agents ends at the depth limit (content-addressed skills cannot form a cycle), and the consumer is charged nothing', async () => {
  // skill k calls skill k − 1; the last one answers: MAX_CALL_DEPTH + 1 levels
  let inner = skills.c;
  for (let k = 1; k <= MAX_CALL_DEPTH; k++) {
    inner = await publish(`deep-${k}`, agents.b, { 'openledger-pricing': 'upto', 'openledger-price': '0' }, { steps: [{ id: 'down', call: inner, maxPrice: '1' }] });
  }
  const spent = (await meter.funds(f.addr(CONSUMER))).spent;
  await assert.rejects(consumerCalls(inner, question, parseEther('1')), refusal('call_tree_too_deep'));
  assert.equal((await meter.funds(f.addr(CONSUMER))).spent, spent);
});

test("a call over its payer's maximum is refused before anything runs, and a failed call charges nobody", async () => {
  const spent = (await meter.funds(f.addr(CONSUMER))).spent;
  await assert.rejects(consumerCalls(skills.a, question, parseEther('0.1')), refusal('over_budget'));
  assert.equal((await meter.funds(f.addr(CONSUMER))).spent, spent);
});

test("transferring an agent's token revokes the node's key: its calls no longer verify and nobody is charged; calls it signed before still verify at their block", async () => {
  const spent = (await meter.funds(f.addr(CONSUMER))).spent;
  const buyer = f.addr(9);
  const owner = await f.t.as(OWNER);
  await f.t.mined(owner.agentRegistry.write.transferFrom([f.addr(OWNER), buyer, BigInt(agents.c.agentId)]));
  await assert.rejects(consumerCalls(skills.a, question, parseEther('0.5')), refusal('bad_signature'));
  assert.equal((await meter.funds(f.addr(CONSUMER))).spent, spent, 'nothing charged');
  const audit = await auditEpoch({ served: async (n) => (await readServedEpoch(f.db, n))!, contracts: f.ctx.contracts, publicClient: f.ctx.clients.publicClient, epoch: 1 });
  assert.deepEqual(audit.problems, [], 'the settled epoch still checks out: its calls verify at the blocks they were recorded at');
  // what the failed call left (C's inferences, B's and C's unrecorded work) is forgotten once old enough; recorded trees stay whole
  const count = async (sql: string) => (await f.db.query<{ n: number }>(`select count(*)::int as n from ${sql}`, []))[0]!.n;
  const orphans = () => Promise.all([
    count(`skill_calls c where c.parent_call_id <> '${ROOT_PARENT}' and not exists (select 1 from skill_calls p where p.call_id = c.parent_call_id)`),
    count('skill_call_inferences i where not exists (select 1 from skill_calls c where c.call_id = i.call_id)'),
  ]);
  assert.ok((await orphans())[1] > 0, "the failed call's inferences were left");
  assert.equal(await pruneUnfinishedCalls(f.db), 0, 'nothing younger than a day');
  const settledCalls = await count('skill_calls');
  assert.ok((await pruneUnfinishedCalls(f.db, 0)) > 0);
  assert.deepEqual(await orphans(), [0, 0]);
  assert.ok((await count('skill_calls')) <= settledCalls && (await count('skill_calls')) >= 3, 'the settled tree stays');
  assert.equal(await auditEpoch({ served: async (n) => (await readServedEpoch(f.db, n))!, contracts: f.ctx.contracts, publicClient: f.ctx.clients.publicClient, epoch: 1 }).then((a) => a.problems.length), 0);
});
