/**
 * The economic loop on a real chain and store: a consumer deposits and authorises, paid inferences
 * are metered against that (402 beyond it), the epoch job settles their receipts (fee split by
 * governance and attribution, draws up to the metered spend, one Merkle root), a rerun after a
 * crash posts nothing twice, and after the challenge window every payee claims exactly its earnings.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { encodeFunctionData, keccak256, parseEther, stringToBytes, type Address, type Hex } from 'viem';
import type { FastifyInstance } from 'fastify';
import { attributionSettlementAbi } from '../chain/generated/index.ts';
import { buildApi } from '../api/server.ts';
import { createIndexer } from '../chain/indexer.ts';
import { indexedContracts } from '../chain/protocol.ts';
import { chainEventSink } from '../store/chain-events.ts';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { distribute } from './fee-split.ts';
import { runInference, type InferenceNode } from '../inference/run-inference.ts';
import { attributeInference } from '../attribution/receipt-attribution.ts';
import type { Receipt } from '../attribution/receipt-types.ts';
import { signSpendAuthorization } from '../chain/spend-authorization.ts';
import { BUILDER, CONTRIBUTORS, learntQuestion, OWNER, type FactoryTestContext } from '../factory/test-context.ts';
import { acceptAuthorization } from './authorizations.ts';
import { runEpoch } from './epoch.ts';
import { EpochStatus } from './epoch-tree.ts';
import { readServedEpoch } from './epoch-inputs.ts';
import { epochEvidence, verifyEpoch } from './verify-epoch.ts';
import { auditEpoch } from './audit-epoch.ts';
import { watchedEpochs, watchEpochs } from './watchtower.ts';
import { payeeProblems } from './verify-payees.ts';
import { createEscrowMeter } from './meter.ts';
import { startPaidNodeTestContext, type PaidNodeTestContext } from './test-paid-node.ts';
import { rewardsOf } from './rewards.ts';

const NODE = 0, CONSUMER = 7, PRICE = parseEther('0.01'); // per 1,000 tokens
let f: FactoryTestContext;
let paid: PaidNodeTestContext;
let node: InferenceNode & { meter: ReturnType<typeof createEscrowMeter> };
let question: string;
let app: FastifyInstance;
let api: string;

before(async () => {
  paid = await startPaidNodeTestContext({ price: PRICE, consumers: [CONSUMER] });
  f = paid.f;
  const { models } = paid;
  node = { ...paid.inference, meter: paid.meter };
  // a question the model answers with its fact, so its receipts credit the contributors (free while the node has no meter's deposit: asked of the engine alone)
  question = (await learntQuestion(f, async (prompt) => (await node.engine.complete((await models.resolve('facts-qa')).served, { prompt, maxTokens: 24, temperature: 0, topP: 1, seed: 0, stop: [] })).text)).prompt;
  // the node's API, where its epochs' inputs are served at the URIs it posts
  app = buildApi({ ...f.ctx, models, engine: node.engine, rpcUrl: f.t.anvil.url, embeddedChain: false, addresses: f.t.addresses, version: 'test', logLevel: 'silent', checkResponses: true });
  api = await app.listen({ port: 0, host: '127.0.0.1' });
});

/** The node's settlement side: its store, chain and indexer, and where it serves each epoch's inputs. */
const settling = () => ({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts, indexChain: f.indexChain, inputsUri: (n: number) => `${api}/settlement/epochs/${n}/inputs` });

after(async () => {
  await app?.close();
  await paid?.stop();
});

const infer = (consumer: Address | null, maxTokens = 24) => runInference(node, { model: 'facts-qa', prompt: question, maxTokens, temperature: 0, topP: 1, seed: 0, stop: [], consumer });

const authorize = async (cap: bigint, nonce: bigint) => {
  const auth = { consumer: f.addr(CONSUMER), operator: f.addr(NODE), cumulativeAmount: cap, nonce, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400) };
  const signature = await signSpendAuthorization(f.t.accounts[CONSUMER]!, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow }, auth);
  return acceptAuthorization(f.db, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow, client: f.ctx.clients.publicClient }, f.addr(NODE), auth, signature);
};

test('paid inference needs a deposit and an authorisation, and stops at the smaller of the two (402)', async () => {
  await assert.rejects(infer(null), (e: Error & { code?: string }) => e.code === 'payment_required' && /API key or a signed request/.test(e.message));
  await assert.rejects(infer(f.addr(CONSUMER)), (e: Error & { code?: string }) => e.code === 'insufficient_funds' && /no unexpired spend authorisation/.test(e.message));
  const consumer = await f.t.as(CONSUMER);
  await f.t.mined(consumer.openToken.write.approve([f.t.addresses.inferenceEscrow, parseEther('1')]));
  await f.t.mined(consumer.inferenceEscrow.write.deposit([f.addr(CONSUMER), parseEther('1')]));
  await authorize(parseEther('0.002'), 1n); // room for one answer of 24 tokens at 0.01 OPEN / 1k tokens, not for one of 200
  const r = await infer(f.addr(CONSUMER));
  assert.ok(r.receipt && BigInt(r.receipt.body.fee.amount) > 0n);
  assert.deepEqual(r.receipt.body.fee.split, { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 });
  await assert.rejects(infer(f.addr(CONSUMER), 200), (e: Error & { code?: string }) => e.code === 'insufficient_funds' && /authorised/.test(e.message));
  await assert.rejects(authorize(parseEther('1'), 1n), /higher nonce/);
  await authorize(parseEther('1'), 2n);
  await Promise.all([infer(f.addr(CONSUMER)), infer(f.addr(CONSUMER), 12)]);
  const funds = await node.meter.funds(f.addr(CONSUMER));
  assert.equal(funds.reserved, 0n);
  assert.ok(funds.spent > 0n && funds.spent <= funds.authorized);
});

test('a receipt never charges more than was reserved for its request (re-encoding the output may count more tokens)', async () => {
  const m = await node.models.resolve('facts-qa');
  if (m.kind !== 'published') throw new Error('facts-qa is a published model');
  const output = ' a longer answer than the request could have produced, re-encoded';
  const { receipt } = await m.loaded.exclusive(() => attributeInference(node, m.loaded, question, output, { consumer: f.addr(CONSUMER), maxFee: 7n }));
  assert.equal(receipt.body.fee.amount, '7');
  const uncapped = await m.loaded.exclusive(() => attributeInference(node, m.loaded, question, output, { consumer: f.addr(CONSUMER) }));
  assert.ok(BigInt(uncapped.receipt.body.fee.amount) > 7n);
});

test('the epoch job settles every receipt once: draws the metered spend, posts one root, and a rerun posts nothing', async () => {
  const operator = f.addr(NODE);
  const spent = (await f.db.query<{ spent: string }>('select sum(fee)::text as spent from settlement_receipts'))[0]!.spent;
  const out = await runEpoch(settling());
  assert.equal(out.kind, 'posted');
  if (out.kind !== 'posted') return;
  assert.equal(out.epoch, 1);
  assert.equal(out.receipts, 3);
  assert.equal(out.total, BigInt(spent));
  assert.equal(out.funded, BigInt(spent), 'drawn exactly what was metered, not the authorised cap');
  assert.equal(await f.ctx.contracts.inferenceEscrow.read.drawn([f.addr(CONSUMER), operator]), BigInt(spent));
  // a crash after sending, before recording: the rerun finds the posted event and sends nothing
  await f.db.query(`update settlement_epochs set status = 'prepared' where epoch = 1`);
  const again = await runEpoch(settling());
  assert.equal(again.kind, 'posted');
  assert.equal((await f.ctx.contracts.attributionSettlement.read.ledgerOf([operator])).lastEpoch, 1n);
  assert.equal((await runEpoch(settling())).kind, 'waiting', 'epoch 1 is in its challenge window');
});

test("the node's payee map is checked against the chain: a made-up datanet owner, model owner or staker is a problem", async () => {
  const served = (await readServedEpoch(f.db, 1))!;
  const chain = { contracts: f.ctx.contracts, publicClient: f.ctx.clients.publicClient };
  assert.deepEqual(await payeeProblems(chain, served.inputs), [], 'the honest map checks out');
  const liar = f.addr(9);
  const [datanetId] = Object.keys(served.inputs.payees.datanetOwners);
  const [modelName] = Object.keys(served.inputs.payees.modelOwners);
  const forged = {
    ...served.inputs,
    payees: { ...served.inputs.payees, datanetOwners: { ...served.inputs.payees.datanetOwners, [datanetId!]: liar }, modelOwners: { ...served.inputs.payees.modelOwners, [modelName!]: liar } },
    stakers: [...served.inputs.stakers, { staker: liar, bonded: parseEther('1000').toString() }],
  };
  const problems = await payeeProblems(chain, forged);
  assert.equal(problems.length, 3, problems.join('\n'));
  assert.match(problems[0]!, new RegExp(`datanet ${datanetId}'s owner as ${liar}; the DatanetRegistry says`));
  assert.match(problems[1]!, new RegExp(`model ${modelName}'s owner as ${liar}; the ModelRegistry says`));
  assert.match(problems[2]!, new RegExp(`staker ${liar} 1000000000000000000000 wei bonded; Staking says 0`));
});

test('after the challenge window every payee claims exactly its earnings, once; claims never exceed what was drawn', async () => {
  await f.t.increaseTime(f.t.params.challengeWindow);
  const payees = [f.addr(NODE), f.addr(OWNER), f.addr(BUILDER), ...CONTRIBUTORS.map((c) => f.addr(c))];
  let paid = 0n;
  for (const payee of payees) {
    const r = await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, payee);
    if (!r.claim) continue;
    assert.equal(r.claimable, r.final);
    assert.equal(r.claim.operator, f.addr(NODE), "claimed from this node's ledger");
    const before = await f.ctx.contracts.openToken.read.balanceOf([payee]);
    await f.t.mined(f.ctx.contracts.attributionSettlement.write.claim([r.claim.operator, payee, BigInt(r.claim.cumulativeAmount), r.claim.proof]));
    assert.equal(await f.ctx.contracts.openToken.read.balanceOf([payee]), before + BigInt(r.claimable));
    paid += BigInt(r.claimable);
    assert.equal((await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, payee)).claimable, '0');
    await assert.rejects(f.t.mined(f.ctx.contracts.attributionSettlement.write.claim([r.claim.operator, payee, BigInt(r.claim.cumulativeAmount), r.claim.proof])), /NothingToClaim/);
  }
  const s = f.ctx.contracts.attributionSettlement.read;
  assert.equal(paid, await s.totalClaimed());
  assert.ok((await s.totalClaimed()) <= (await s.totalFunded()));
  const ledger = await s.ledgerOf([f.addr(NODE)]);
  assert.equal(ledger.claimed, paid, "every claim drew on this node's ledger");
  assert.ok(ledger.claimed <= ledger.funded);
  const builder = await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, f.addr(BUILDER));
  assert.ok(builder.breakdown.some((b) => b.role === 'model_owner' && b.modelName === 'facts-qa'));
  const contributors = await Promise.all(CONTRIBUTORS.map((c) => rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, f.addr(c))));
  assert.ok(contributors.some((r) => r.breakdown.some((b) => b.role === 'contributor' && b.datanetId > 0)), 'contributors were paid by attribution');
});

test('a fraudulent operator (an inflated payee) is caught by recomputation, disputed, reverted and slashed; the receipts are settled again honestly', async () => {
  const ACCOMPLICE = 9, CHALLENGER = 8;
  await infer(f.addr(CONSUMER));
  await infer(f.addr(CONSUMER), 10);
  // the operator posts epoch 2 with an extra payee (the declared total stays honest: the contract cannot sum leaves)
  const real = f.ctx.contracts.attributionSettlement;
  const fraudulent = {
    ...f.ctx.contracts,
    attributionSettlement: {
      ...real,
      write: {
        ...real.write,
        postEpoch: async ([epoch, , total, hash, uri, draws]: Parameters<typeof real.write.postEpoch>[0]) => {
          const [row] = await f.db.query<{ leaves: Array<[Address, string]> }>('select leaves from settlement_epochs where epoch = $1', [Number(epoch)]);
          const leaves = [...row!.leaves, [f.addr(ACCOMPLICE), parseEther('1').toString()] as [Address, string]];
          const tree = StandardMerkleTree.of(leaves, ['address', 'uint256']);
          await f.db.query('update settlement_epochs set leaves = $2, root = $3 where epoch = $1', [Number(epoch), JSON.stringify(leaves), tree.root]);
          return real.write.postEpoch([epoch, tree.root as Hex, total, hash, uri, draws]);
        },
      },
    },
  } as typeof f.ctx.contracts;
  const posted = await runEpoch({ ...settling(), contracts: fraudulent });
  assert.equal(posted.kind, 'posted');

  // anyone recomputes it from the served inputs: the accomplice's leaf has no receipt behind it
  const served = (n: number) => readServedEpoch(f.db, n).then((e) => e!);
  const verdict = await verifyEpoch(await epochEvidence(served, f.ctx.contracts, 2));
  assert.equal(verdict.ok, false);
  assert.deepEqual(verdict.differences, [{ payee: f.addr(ACCOMPLICE), posted: parseEther('1').toString(), recomputed: '0' }]);
  assert.equal((await verifyEpoch(await epochEvidence(served, f.ctx.contracts, 1))).ok, true, 'epoch 1 was honest');

  // a challenger audits it as a watchtower does (the CLI's `settlement verify --dispute`) and disputes with a bond;
  // the arbiter upholds: root reverted, operator slashed, bond back
  const challenger = await f.t.as(CHALLENGER);
  const { publicClient } = await f.t.clients(CHALLENGER);
  await f.t.mined((await f.t.as(NODE)).openToken.write.transfer([f.addr(CHALLENGER), await real.read.disputeBond()]));
  assert.deepEqual((await auditEpoch({ served, contracts: challenger, publicClient, epoch: 1 })).problems, [], 'the audit finds epoch 1 right');
  const audit = await auditEpoch({ served, contracts: challenger, publicClient, epoch: 2 });
  assert.ok(audit.problems.some((p) => p.includes(f.addr(ACCOMPLICE))), audit.problems.join('\n'));
  // the challenger's own node watches the other operators without being told: it recomputes each
  // pending epoch from the inputs served at the posted URI, and disputes the wrong one with the bond
  const watcherDb = await openDatabase({ memory: true });
  await migrate(watcherDb);
  const watcher = { db: watcherDb, clients: await f.t.clients(CHALLENGER), contracts: challenger };
  await createIndexer({ client: watcher.clients.publicClient, chainId: 31337, contracts: indexedContracts(f.t.addresses), sink: chainEventSink(watcherDb) }).runOnce();
  const verdicts = await watchEpochs(watcher, { dispute: true });
  const caught = verdicts.find((v) => v.epoch === 2);
  assert.equal(caught?.verdict, 'disputed');
  assert.ok(caught.problems.some((p) => p.includes(f.addr(ACCOMPLICE))), caught.problems.join('\n'));
  assert.ok(verdicts.every((v) => v.epoch === 2 || v.verdict === 'ok'), 'only the inflated epoch is disputed');
  assert.deepEqual(await watchEpochs(watcher, { dispute: true }), [], 'each epoch is checked once');
  assert.deepEqual((await watchedEpochs(watcherDb, 31337)).find((v) => v.epoch === 2)?.verdict, 'disputed');
  await watcherDb.close();
  const bond = BigInt(caught.bond!);
  assert.equal((await real.read.getEpoch([f.addr(NODE), 2n])).status, EpochStatus.Disputed);
  const admin = await f.t.as(NODE);
  await f.t.mined(admin.attributionSettlement.write.grantRole([await real.read.ARBITER_ROLE(), f.addr(NODE)]));
  const stakeBefore = (await f.ctx.contracts.staking.read.positionOf([f.addr(NODE), 0, 0n])).bonded;
  await f.t.mined(admin.attributionSettlement.write.resolveDispute([f.addr(NODE), 2n, true]));
  assert.equal((await real.read.getEpoch([f.addr(NODE), 2n])).status, EpochStatus.Reverted);
  assert.equal((await f.ctx.contracts.staking.read.positionOf([f.addr(NODE), 0, 0n])).bonded, stakeBefore - f.t.params.operatorSlashAmount);
  assert.equal(await f.ctx.contracts.openToken.read.balanceOf([f.addr(CHALLENGER)]), bond);

  // the operator restores its stake; the next run re-settles epoch 2's receipts honestly as epoch 3, drawing nothing twice
  await f.t.mined(admin.openToken.write.approve([f.t.addresses.staking, f.t.params.operatorSlashAmount]));
  await f.t.mined(admin.staking.write.stake([0, 0n, f.t.params.operatorSlashAmount]));
  const drawnBefore = await f.ctx.contracts.inferenceEscrow.read.drawn([f.addr(CONSUMER), f.addr(NODE)]);
  const honest = await runEpoch(settling());
  assert.equal(honest.kind, 'posted');
  if (honest.kind !== 'posted') return;
  assert.equal(honest.epoch, 3);
  assert.equal(honest.receipts, 2);
  assert.equal(honest.funded, 0n, 'epoch 2 already drew these fees');
  assert.equal(await f.ctx.contracts.inferenceEscrow.read.drawn([f.addr(CONSUMER), f.addr(NODE)]), drawnBefore);
  assert.equal((await verifyEpoch(await epochEvidence(served, f.ctx.contracts, 3))).ok, true);
  assert.equal((await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, f.addr(ACCOMPLICE))).earned, '0');
});

test('governance end to end: a vote changes the fee split through the timelock, and the next epoch pays by it', async () => {
  const p = await f.t.as(NODE);
  const s = f.ctx.contracts.attributionSettlement;
  // hand the settlement's admin role to the timelock (as a production deployment does), delegate votes
  await f.t.mined(p.attributionSettlement.write.grantRole([await s.read.DEFAULT_ADMIN_ROLE(), f.t.addresses.timelock]));
  await f.t.mined(p.openToken.write.delegate([f.addr(NODE)]));
  const split = { modelOwnerBps: 2000, datanetOwnersBps: 1000, contributorsBps: 6000, stakersBps: 1000 };
  const targets = [f.t.addresses.attributionSettlement], values = [0n];
  const calldatas = [encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'setFeeSplit', args: [split] })];
  const description = 'Pay contributors 60% of every fee';
  await f.t.mined(p.governor.write.propose([targets, values, calldatas, description]));
  const id = await p.governor.read.hashProposal([targets, values, calldatas, keccak256(stringToBytes(description))]);
  await f.t.mine(Number(f.t.params.votingDelay) + 1);
  await f.t.mined(p.governor.write.castVote([id, 1]));
  await f.t.mine(Number(f.t.params.votingPeriod) + 1);
  await f.t.mined(p.governor.write.queue([targets, values, calldatas, keccak256(stringToBytes(description))]));
  await f.t.increaseTime(f.t.params.timelockDelay + 1n);
  await f.t.mined(p.governor.write.execute([targets, values, calldatas, keccak256(stringToBytes(description))]));
  assert.deepEqual(await s.read.feeSplit(), [2000, 1000, 6000, 1000]);

  await f.t.increaseTime(f.t.params.challengeWindow); // epoch 3 final
  const unindexed = await infer(f.addr(CONSUMER));
  assert.notDeepEqual(unindexed.receipt!.body.fee.split, split, "the node charges by its projection of the chain's events, not a read per request");
  await f.indexChain(); // as the node's indexer does each second
  const r = await infer(f.addr(CONSUMER));
  assert.deepEqual(r.receipt!.body.fee.split, split, 'receipts carry the split in force');
  const out = await runEpoch(settling());
  assert.equal(out.kind, 'posted');
  // the model owner's credit: each receipt's share by the split it carries (all but the stakers' when it credits no contribution)
  const ownerShare = ({ body }: Receipt) => {
    const shares = distribute(BigInt(body.fee.amount), [body.fee.split.modelOwnerBps, body.fee.split.datanetOwnersBps, body.fee.split.contributorsBps, body.fee.split.stakersBps].map(BigInt));
    return body.contributions.length > 0 ? shares[0]! : shares.slice(0, 3).reduce((a, b) => a + b, 0n);
  };
  const [owner] = await f.db.query<{ amount: string }>(`select amount::text from epoch_credits where epoch = 4 and role = 'model_owner'`);
  assert.equal(BigInt(owner!.amount), ownerShare(unindexed.receipt!) + ownerShare(r.receipt!));
});
