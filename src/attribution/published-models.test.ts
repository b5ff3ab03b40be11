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
import { createModelLoader, getPublishedModel, listPublishedModels, publishedModelOwners, storeModelSource } from './published-models.ts';

let f: FactoryTestContext;
let backend: Backend;
before(async () => {
  f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: 'projected-qa', baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: parseEther('0.01').toString(), hyperparameters: { epochs: 1, batchSize: 8, sketchDimension: 16, rank: 2, alpha: 4 } });
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
  await assert.rejects(getPublishedModel(f.db, 'projected-qa'), (err: Error & { status?: number }) => err.status === 410 && /deactivated/.test(err.message));
  assert.ok(!(await listPublishedModels(f.db)).some((m) => m.name === 'projected-qa'));
  assert.deepEqual(await publishedModelOwners(f.db, ['projected-qa']), { 'projected-qa': f.addr(OWNER) });

  // after a reorg's rewind the projection is recomputed from the events to the same
  const before = await f.db.query('select * from models_on_chain order by model_id');
  await f.db.transaction((tx) => modelProjection.project(tx, 31337, undefined));
  assert.deepEqual(await f.db.query('select * from models_on_chain order by model_id'), before);
});
