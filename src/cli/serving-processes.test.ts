/**
 * One operator larger than one process (issue 18, "scale inside one operator"): a primary
 * `openledger up` and an extra serving process (`--role serve`) of the same account sharing one
 * Postgres server and one S3 bucket. The serving process answers inference with receipts the
 * primary settles; the meter's reservations are shared, so concurrent requests split over both
 * processes never spend more than the consumer authorised; and the serving process refuses what
 * only the primary does (its workers, its account's transactions).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { ApiError, createApiClient } from '../api/contract/client.ts';
import { routes } from '../api/contract/index.ts';
import { openS3BlobStore } from '../store/blob-s3.ts';
import { startTestS3Server, type TestS3Server } from '../store/blob-test-s3.ts';
import { startPostgresServer, type PostgresServer } from '../store/test-postgres.ts';
import { runCli, runDemo, up, type DemoData, type Up } from './test-node.ts';

const MODEL = 'zorvania-qa', CONSUMER = 7;
let pg: PostgresServer | string;
let s3: TestS3Server;
let dir1: string, dir2: string;
let primary: Up, serving: Up;
let env: NodeJS.ProcessEnv;
let demo: DemoData;
let prompt: string;
const account = (i: number) => demo.account(i);
const cli = async (args: string[]) => {
  const r = await runCli([...args, '--data-dir', dir1], env);
  assert.equal(r.code, 0, `openledger ${args.join(' ')}:\n${r.out}`);
  return r.out;
};

before(async () => {
  pg = await startPostgresServer();
  if (typeof pg === 'string') return;
  s3 = await startTestS3Server();
  await openS3BlobStore(s3.storeOptions('operator-blobs')); // the bucket
  env = {
    DATABASE_URL: pg.url, OPENLEDGER_S3_BUCKET: 'operator-blobs', OPENLEDGER_S3_ENDPOINT: s3.endpoint, OPENLEDGER_S3_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
  };
  dir1 = mkdtempSync(join(tmpdir(), 'openledger-primary-'));
  dir2 = mkdtempSync(join(tmpdir(), 'openledger-serving-'));
  // the operator's store and blobs: a datanet and a published model, made by the demo
  demo = await runDemo(dir1, env);
  prompt = demo.prompts[0]!;
  primary = await up(dir1, env);
  serving = await up(dir2, { ...env, OPENLEDGER_ROLE: 'serve', OPENLEDGER_RPC_URL: primary.rpcUrl, OPENLEDGER_DEPLOYER_KEY: demo.key(0) });
}, { timeout: 240_000 });

after(async () => {
  await serving?.stop();
  await primary?.stop();
  await s3?.stop();
  if (typeof pg === 'object') pg.stop();
  for (const d of [dir1, dir2]) if (d) rmSync(d, { recursive: true, force: true });
});

test('a serving process of the same operator answers with receipts its primary settles, shares the meter, and leaves the rest to the primary', { timeout: 300_000 }, async (t) => {
  if (typeof pg === 'string') return t.skip(pg);
  assert.match(serving.output(), /role: a serving process of operator 0x[0-9a-fA-F]{40}/);
  assert.doesNotMatch(serving.output(), /deploy:|staked|listed in the OperatorRegistry/, 'it sends nothing');
  const [p, s] = [createApiClient({ baseUrl: primary.apiUrl }), createApiClient({ baseUrl: serving.apiUrl })];
  assert.equal((await s.call(routes.getStatus, {})).nodeAccount, (await p.call(routes.getStatus, {})).nodeAccount, 'one operator, one account');

  await t.test('a consumer\'s requests split over both processes never spend more than it authorised', async () => {
    const consumer = account(CONSUMER);
    await cli(['transfer', consumer.address, '1', '--account', '0', '--api', primary.apiUrl]);
    await cli(['deposit', '1', '--no-authorize', '--account', String(CONSUMER), '--api', primary.apiUrl]);
    // enough for about two of these requests at their most
    await cli(['authorize', '0.001', '--account', String(CONSUMER), '--api', primary.apiUrl]);
    const cap = BigInt((await s.call(routes.getFunds, { params: { address: consumer.address } })).authorized);
    assert.equal(cap, parseEther('0.001'), 'the serving process reads the authorisation from the shared store');
    const ask = (api: string) => createApiClient({ baseUrl: api, signer: consumer }).call(routes.infer, { body: { model: MODEL, prompt, maxTokens: 24 } });
    const outcomes = await Promise.allSettled([primary, serving, primary, serving, primary, serving].map((n) => ask(n.apiUrl)));
    const served = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.ok(served.length >= 1, 'some are served');
    assert.ok(refused.length >= 1, 'not all: the cap holds across the processes');
    for (const r of refused) assert.ok(r.reason instanceof ApiError && r.reason.status === 402, String(r.reason));
    const funds = await p.call(routes.getFunds, { params: { address: consumer.address } });
    assert.ok(BigInt(funds.spent) <= cap, `spent ${funds.spent} of ${cap}`);
    assert.equal(funds.reserved, '0', 'every reservation let go');
    assert.equal(BigInt(funds.spent), served.reduce((n, o) => n + BigInt((o as PromiseFulfilledResult<Awaited<ReturnType<typeof ask>>>).value.fee!.amount), 0n));
  });

  await t.test('the primary settles what the serving process answered', async () => {
    assert.match(await cli(['settlement', 'run', '--account', '0', '--api', primary.apiUrl]), /epoch 2 posted: [1-9]\d* receipts/);
  });

  await t.test('what only the primary does is refused by the serving process with 421', async () => {
    const r = await runCli(['settlement', 'run', '--account', '0', '--api', serving.apiUrl, '--data-dir', dir1], env);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /421 this is one of the operator's serving processes/);
  });
});
