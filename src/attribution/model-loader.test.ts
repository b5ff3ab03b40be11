import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { parseEther } from 'viem';
import { join } from 'node:path';
import { modelProjection } from '../factory/chain-projection.ts';
import { createFactoryWorker } from '../factory/factory-worker.ts';
import { createTrainingJob } from '../factory/jobs.ts';
import { BUILDER, OWNER, startFactoryTestContext, type FactoryTestContext } from '../factory/test-context.ts';
import { createBackend } from '../model/create-backend.ts';
import type { Backend } from '../model/backend.ts';
import { attribute } from './attribute.ts';
import { attributionTokens, defaultAttributionSettings } from './receipt-attribution.ts';
import { createModelLoader, storeModelSource, type LoadedModel } from './model-loader.ts';
import { getPublishedModel, listPublishedModels, publishedModelOwners } from '../factory/published-models.ts';

let f: FactoryTestContext;
let backend: Backend;
before(async () => {
  f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: 'projected-qa', baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: parseEther('0.01').toString(), hyperparameters: { epochs: 1, batchSize: 8, sketchDimension: 16, rank: 2, alpha: 4 } });
  for (const name of ['evicted-a', 'evicted-b']) {
    await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: name, baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: '1', hyperparameters: { epochs: 1, batchSize: 8, sketchDimension: 16, rank: 2, alpha: 4 } });
  }
  await createFactoryWorker(f.ctx).drain();
});
after(async () => {
  await backend?.dispose();
  await f?.stop();
});

test("a published model's owner, price and activity follow the ModelRegistry, whoever changed them on chain", async () => {
  await f.indexChain();
  const published = await getPublishedModel(f.db, 'projected-qa');
  assert.equal(published.owner, f.addr(BUILDER));
  assert.equal(published.pricePer1kTokens, parseEther('0.01').toString());
  const id = BigInt(published.modelId);
  backend = createBackend({ threads: 1 });
  const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'attribution') });
  await models.load('projected-qa');

  // the builder reprices and sells the model on chain, not through the node
  const builder = await f.t.as(BUILDER);
  await f.t.mined(builder.modelRegistry.write.setPrice([id, parseEther('0.5')]));
  await f.t.mined(builder.modelRegistry.write.transferModelOwnership([id, f.addr(OWNER)]));
  assert.equal((await getPublishedModel(f.db, 'projected-qa')).pricePer1kTokens, parseEther('0.01').toString(), 'nothing changes until the events are indexed');
  await f.indexChain();
  const sold = await getPublishedModel(f.db, 'projected-qa');
  assert.equal(sold.pricePer1kTokens, parseEther('0.5').toString(), 'the node charges the price on chain');
  assert.equal(sold.owner, f.addr(OWNER), "the buyer is paid the model's share");
  assert.equal((await models.load('projected-qa')).published.pricePer1kTokens, parseEther('0.5').toString(), 'a model loaded before the change is charged at the new price');
  assert.deepEqual(await publishedModelOwners(f.db, ['projected-qa']), { 'projected-qa': f.addr(OWNER) });

  // the new owner deactivates it: no longer listed or served (410), its past receipts still pay the owner
  await f.t.mined((await f.t.as(OWNER)).modelRegistry.write.deactivate([id]));
  await f.indexChain();
  await assert.rejects(getPublishedModel(f.db, 'projected-qa'), (err: Error & { code?: string }) => err.code === 'model_deactivated' && /deactivated/.test(err.message));
  assert.ok(!(await listPublishedModels(f.db)).some((m) => m.name === 'projected-qa'));
  assert.deepEqual(await publishedModelOwners(f.db, ['projected-qa']), { 'projected-qa': f.addr(OWNER) });

  // after a reorg's rewind the projection is recomputed from the events to the same
  const before = await f.db.query('select * from models_on_chain order by model_id');
  await f.db.transaction((tx) => modelProjection.project(tx, 31337, undefined));
  assert.deepEqual(await f.db.query('select * from models_on_chain order by model_id'), before);
});

test('beyond maxLoaded the least recently used model nobody holds is freed, and loaded again the same when asked for; a held one never is', async () => {
  backend ??= createBackend({ threads: 1 });
  const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'eviction'), maxLoaded: 1 });
  const parameters = { ...defaultAttributionSettings, spanWeightBps: 5000, thresholdPpm: 0, evidenceThresholdPpm: 0 };
  const attributed = async (m: LoadedModel) => {
    const { promptIds, outputIds } = attributionTokens(m, `### Question: ${f.facts.train[0]!.prompt}\n### Answer:`, ` ${f.facts.train[0]!.response}`);
    return m.exclusive(() => attribute(m.attribution, promptIds, outputIds, parameters));
  };
  const a = await models.load('evicted-a');
  const before = await attributed(a);
  const b = await models.load('evicted-b');
  assert.equal(models.size, 2, 'both held: the bound is exceeded rather than free a model in use');
  a.release();
  a.release(); // idempotent: it must not count as B's release
  assert.equal(models.size, 1, 'A, released and least recently used, is freed');
  const again = await models.load('evicted-a');
  assert.equal(models.size, 2, 'B is still held');
  assert.deepEqual(await attributed(again), before, 'loaded again, A attributes exactly as before');
  b.release();
  assert.equal(models.size, 1);
  again.release();
});
