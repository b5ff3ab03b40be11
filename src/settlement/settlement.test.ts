/**
 * The economic loop on a real chain and store: a consumer deposits and authorises, paid inferences
 * are metered against that (402 beyond it), the epoch job settles their receipts (fee split by
 * governance and attribution, draws up to the metered spend, one Merkle root), a rerun after a
 * crash posts nothing twice, and after the challenge window every payee claims exactly its earnings.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseEther, type Address } from 'viem';
import { runAttributedInference, type InferenceNode } from '../attribution/attributed-inference.ts';
import { createModelLoader, storeModelSource } from '../attribution/published-models.ts';
import { signSpendAuthorization } from '../chain/spend-authorization.ts';
import { createFactoryWorker } from '../factory/factory-worker.ts';
import { createTrainingJob } from '../factory/jobs.ts';
import { BUILDER, CONTRIBUTORS, OWNER, startFactoryTestContext, type FactoryTestContext } from '../factory/test-context.ts';
import type { Backend } from '../model/backend.ts';
import { createBackend } from '../model/create-backend.ts';
import { createBuiltinEngine } from '../serve/builtin-engine.ts';
import { acceptAuthorization } from './authorizations.ts';
import { runEpoch } from './epoch.ts';
import { createEscrowMeter } from './meter.ts';
import { rewardsOf } from './rewards.ts';

const NODE = 0, CONSUMER = 7, PRICE = parseEther('0.01'); // per 1,000 tokens
let f: FactoryTestContext;
let backend: Backend;
let node: InferenceNode & { meter: ReturnType<typeof createEscrowMeter> };
let question: string;

before(async () => {
  f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), {
    modelName: 'facts-qa', baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: PRICE.toString(),
    hyperparameters: { epochs: 6, batchSize: 8, learningRate: 2e-2, sketchDimension: 64, rank: 4, alpha: 8 },
  });
  await createFactoryWorker(f.ctx).drain();
  backend = createBackend({ threads: 1 });
  const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'attribution') });
  const meter = createEscrowMeter({ db: f.db, contracts: f.ctx.contracts, operator: f.addr(NODE) });
  node = { account: f.t.accounts[NODE]!, chainId: 31337, contracts: f.ctx.contracts, db: f.db, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), meter };
  question = `### Question: ${f.facts.train[0]!.prompt}\n### Answer:`;
  // the node is a staked operator; the consumer holds OPEN
  const operator = await f.t.as(NODE);
  await f.t.mined(operator.openToken.write.approve([f.t.addresses.staking, parseEther('1000')]));
  await f.t.mined(operator.staking.write.stake([0, parseEther('1000')]));
  await f.t.mined(operator.openToken.write.transfer([f.addr(CONSUMER), parseEther('10')]));
});

after(async () => {
  await backend?.dispose();
  await f?.stop();
});

const infer = (consumer: Address | null, maxTokens = 8) => runAttributedInference(node, { model: 'facts-qa', prompt: question, maxTokens, temperature: 0, topP: 1, seed: 0, consumer });

const authorize = async (cap: bigint, nonce: bigint) => {
  const auth = { consumer: f.addr(CONSUMER), operator: f.addr(NODE), cumulativeAmount: cap, nonce, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400) };
  const signature = await signSpendAuthorization(f.t.accounts[CONSUMER]!, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow }, auth);
  return acceptAuthorization(f.db, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow }, f.addr(NODE), auth, signature);
};

test('paid inference needs a deposit and an authorisation, and stops at the smaller of the two (402)', async () => {
  await assert.rejects(infer(null), (e: Error & { status?: number }) => e.status === 402 && /API key or a signed request/.test(e.message));
  await assert.rejects(infer(f.addr(CONSUMER)), (e: Error & { status?: number }) => e.status === 402 && /no unexpired spend authorisation/.test(e.message));
  const consumer = await f.t.as(CONSUMER);
  await f.t.mined(consumer.openToken.write.approve([f.t.addresses.inferenceEscrow, parseEther('1')]));
  await f.t.mined(consumer.inferenceEscrow.write.deposit([f.addr(CONSUMER), parseEther('1')]));
  await authorize(parseEther('0.002'), 1n); // room for about one 8-token answer at 0.01 OPEN / 1k tokens
  const r = await infer(f.addr(CONSUMER));
  assert.ok(r.receipt && BigInt(r.receipt.body.fee.amount) > 0n);
  assert.deepEqual(r.receipt.body.fee.split, { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 });
  await assert.rejects(infer(f.addr(CONSUMER), 200), (e: Error & { status?: number }) => e.status === 402 && /authorised/.test(e.message));
  await assert.rejects(authorize(parseEther('1'), 1n), /higher nonce/);
  await authorize(parseEther('1'), 2n);
  await Promise.all([infer(f.addr(CONSUMER)), infer(f.addr(CONSUMER), 12)]);
  const funds = await node.meter.funds(f.addr(CONSUMER));
  assert.equal(funds.reserved, 0n);
  assert.ok(funds.spent > 0n && funds.spent <= funds.authorized);
});

test('the epoch job settles every receipt once: draws the metered spend, posts one root, and a rerun posts nothing', async () => {
  const operator = f.addr(NODE);
  const spent = (await f.db.query<{ spent: string }>('select sum(fee)::text as spent from attribution_receipts'))[0]!.spent;
  const out = await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts });
  assert.equal(out.kind, 'posted');
  if (out.kind !== 'posted') return;
  assert.equal(out.epoch, 1);
  assert.equal(out.receipts, 3);
  assert.equal(out.total, BigInt(spent));
  assert.equal(out.funded, BigInt(spent), 'drawn exactly what was metered, not the authorised cap');
  assert.equal(await f.ctx.contracts.inferenceEscrow.read.drawn([f.addr(CONSUMER), operator]), BigInt(spent));
  // a crash after sending, before recording: the rerun finds the posted event and sends nothing
  await f.db.query(`update settlement_epochs set status = 'prepared' where epoch = 1`);
  const again = await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts });
  assert.equal(again.kind, 'posted');
  assert.equal(await f.ctx.contracts.attributionSettlement.read.lastEpoch(), 1n);
  assert.equal((await runEpoch({ db: f.db, clients: f.ctx.clients, contracts: f.ctx.contracts })).kind, 'waiting', 'epoch 1 is in its challenge window');
});

test('after the challenge window every payee claims exactly its earnings, once; claims never exceed what was drawn', async () => {
  await f.t.increaseTime(f.t.params.challengeWindow);
  const payees = [f.addr(NODE), f.addr(OWNER), f.addr(BUILDER), ...CONTRIBUTORS.map((c) => f.addr(c))];
  let paid = 0n;
  for (const payee of payees) {
    const r = await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, payee);
    if (!r.claim) continue;
    assert.equal(r.claimable, r.final);
    const before = await f.ctx.contracts.openToken.read.balanceOf([payee]);
    await f.t.mined(f.ctx.contracts.attributionSettlement.write.claim([payee, BigInt(r.claim.cumulativeAmount), r.claim.proof]));
    assert.equal(await f.ctx.contracts.openToken.read.balanceOf([payee]), before + BigInt(r.claimable));
    paid += BigInt(r.claimable);
    assert.equal((await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, payee)).claimable, '0');
    await assert.rejects(f.t.mined(f.ctx.contracts.attributionSettlement.write.claim([payee, BigInt(r.claim.cumulativeAmount), r.claim.proof])), /NothingToClaim/);
  }
  const s = f.ctx.contracts.attributionSettlement.read;
  assert.equal(paid, await s.totalClaimed());
  assert.ok((await s.totalClaimed()) <= (await s.totalFunded()));
  const builder = await rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, f.addr(BUILDER));
  assert.ok(builder.breakdown.some((b) => b.role === 'model_owner' && b.modelName === 'facts-qa'));
  const contributors = await Promise.all(CONTRIBUTORS.map((c) => rewardsOf(f.db, f.ctx.clients, f.ctx.contracts, f.addr(c))));
  assert.ok(contributors.some((r) => r.breakdown.some((b) => b.role === 'contributor' && b.datanetId > 0)), 'contributors were paid by attribution');
});
