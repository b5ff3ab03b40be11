import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Hex, LocalAccount } from 'viem';
import { bodyHashOf, signRequest } from '../api/request-signature.ts';
import { buildApi } from '../api/server.ts';
import { createFactoryWorker } from '../factory/factory-worker.ts';
import { createTrainingJob, getTrainingJob } from '../factory/jobs.ts';
import { BUILDER, learntQuestion, startFactoryTestContext, type FactoryTestContext } from '../factory/test-context.ts';
import { createBackend } from '../model/create-backend.ts';
import type { Backend } from '../model/backend.ts';
import { recomputeReceipt } from './receipt-attribution.ts';
import { outputGradient } from './influence-scores.ts';
import { createModelLoader, storeModelSource, type ModelLoader } from './model-loader.ts';
import { createBuiltinEngine } from '../serve/builtin-engine.ts';
import { checkReceiptSignature, getReceipt } from './receipts.ts';
import type { StoredReceipt } from './receipt-types.ts';

const CONSUMER = 7;
let f: FactoryTestContext;
let app: FastifyInstance;
let api: string;
let backend: Backend;
let models: ModelLoader;

interface Answer {
  output: string;
  usage: { promptTokens: number; completionTokens: number; totalTokens: number };
  fee: { pricePer1kTokens: string; amount: string };
  receiptId: Hex;
  attribution: { contributions: Array<{ contributionId: Hex; sharePpm: number; spans: Array<[number, number]> }>; spans: Array<{ start: number; end: number }> };
}

async function post(path: string, body: unknown, account?: LocalAccount) {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (account) Object.assign(headers, await signRequest(account, { chainId: f.ctx.clients.chain.id, node: f.ctx.clients.account.address, method: 'POST', path, bodyHash: bodyHashOf(text) }));
  const res = await fetch(`${api}${path}`, { method: 'POST', headers, body: text });
  return { status: res.status, json: (await res.json()) as Answer & { error?: string; message?: string } };
}

before(async () => {
  f = await startFactoryTestContext();
  const job = await createTrainingJob(f.ctx, f.addr(BUILDER), {
    modelName: 'facts-qa', baseModel: 'openledger-tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: '2000',
    hyperparameters: { sketchDimension: 256 },
  });
  await createFactoryWorker(f.ctx).drain();
  assert.equal((await getTrainingJob(f.db, job.id)).status, 'succeeded');
  backend = createBackend({ threads: 1 });
  models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'attribution') });
  app = buildApi({ ...f.ctx, models, engine: createBuiltinEngine({ loadBase: (b) => models.base(b.id) }), rpcUrl: f.t.anvil.url, embeddedChain: false, addresses: f.t.addresses, version: 'test', logLevel: process.env.API_LOG ?? 'silent', checkResponses: true });
  api = await app.listen({ port: 0, host: '127.0.0.1' });
});

after(async () => {
  await app?.close();
  await backend?.dispose();
  await f?.stop();
});

describe('Proof of Attribution through the API', () => {
  let answer: Answer;
  const consumer = () => f.t.accounts[CONSUMER]! as LocalAccount;

  test('an inference answers with its output, usage, fee and the contributions that shaped it', async () => {
    const { prompt } = await learntQuestion(f, async (p) => (await post('/inference', { model: 'facts-qa', prompt: p, maxTokens: 24 }, consumer())).json.output);
    const r = await post('/inference', { model: 'facts-qa', prompt, maxTokens: 24 }, consumer());
    assert.equal(r.status, 200, r.json.message ?? "");
    answer = r.json;
    assert.ok(answer.output.length > 0);
    assert.equal(answer.usage.totalTokens, answer.usage.promptTokens + answer.usage.completionTokens);
    assert.equal(BigInt(answer.fee.amount), (2000n * BigInt(answer.usage.totalTokens) + 999n) / 1000n);
    const shares = answer.attribution.contributions.map((c) => c.sharePpm);
    assert.ok(shares.length > 0, 'something is credited');
    for (const c of answer.attribution.contributions) for (const [s, e] of c.spans) assert.ok(s >= 0 && e <= answer.output.length && s < e);
  });

  test('its receipt is stored, signed by the node, and recomputes to the same shares', async () => {
    const stored = await (await fetch(`${api}/attribution/${answer.receiptId}`)).json() as StoredReceipt;
    assert.equal(stored.id, answer.receiptId);
    assert.equal(stored.body.node, f.ctx.clients.account.address);
    assert.equal(stored.consumer, consumer().address);
    await checkReceiptSignature(stored);
    assert.equal(stored.body.contributions.reduce((s, c) => s + c.sharePpm, 0), 1_000_000);
    const m = await models.load('facts-qa');
    assert.deepEqual(await recomputeReceipt(m, stored), []);
  });

  test('a receipt whose shares were inflated is caught by its signature and by recomputation', async () => {
    const stored = await getReceipt(f.db, answer.receiptId);
    const [first, ...rest] = stored.body.contributions;
    const inflated: StoredReceipt = { ...stored, body: { ...stored.body, contributions: [{ ...first!, sharePpm: first!.sharePpm + 100_000 }, ...rest] } };
    await assert.rejects(checkReceiptSignature(inflated), { code: 'bad_receipt' });
    const diffs = await recomputeReceipt(await models.load('facts-qa'), inflated);
    assert.equal(diffs[0]?.contributionId, first!.contributionId);
    // parameters no attribution runs with are refused, not computed with
    const odd: StoredReceipt = { ...stored, body: { ...stored.body, parameters: { ...stored.body.parameters, damping: -1 } } };
    await assert.rejects(recomputeReceipt(await models.load('facts-qa'), odd), (e: Error & { code?: string }) => e.code === 'bad_receipt' && /damping/.test(e.message));
  });

  test('computations on one model run one at a time (they share its buffers)', async () => {
    const m = await models.load('facts-qa');
    const ids = (text: string) => m.tokenizer.encode(text, { addSpecialTokens: false });
    const [pa, oa, pb, ob] = [ids('### Question: a\n### Answer:'), ids(' one two three'), ids('### Question: b\n### Answer:'), ids(' four five six seven')];
    const features = await m.attribution.influence('relatif', 1);
    const sketch = async (p: number[], o: number[]) => (await outputGradient(m.attribution, features, p, o)).gradient;
    const a = await sketch(pa, oa), b = await sketch(pb, ob);
    const locked = await Promise.all([m.exclusive(() => sketch(pa, oa)), m.exclusive(() => sketch(pb, ob))]);
    assert.deepEqual(locked, [a, b]);
    // without the lock the second computation overwrites the first one's gradients while it awaits
    const unlocked = await Promise.all([sketch(pa, oa), sketch(pb, ob)]);
    assert.notDeepEqual(unlocked[0], a);
  });

  test('bad requests are refused with the reason', async () => {
    assert.equal((await post('/inference', { model: 'facts-qa', prompt: 'hi' })).status, 401);
    const unknown = await post('/inference', { model: 'nope', prompt: 'hi' }, consumer());
    assert.equal(unknown.status, 404);
    const bad = await post('/inference', { model: 'facts-qa', prompt: 'hi', maxTokens: 0 }, consumer());
    assert.equal(bad.status, 400);
    assert.match(bad.json.message!, /maxTokens/);
    assert.equal((await fetch(`${api}/attribution/0x${'0'.repeat(64)}`)).status, 404);
  });
});
