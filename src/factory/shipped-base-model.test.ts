import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syntheticCorpus } from '../model/corpus/synthetic-text.ts';
import { Llama } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import { createBackend } from '../model/create-backend.ts';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { shippedBaseModel, SHIPPED_BASE_MODEL } from './shipped-base-model.ts';

test('the shipped base model loads, is registered once, and has learnt its corpus', async () => {
  const db = await openDatabase({ memory: true });
  await migrate(db);
  const base = await shippedBaseModel(db);
  assert.ok(base, 'models/openledger-tiny is part of the repository');
  assert.deepEqual(await shippedBaseModel(db), base);
  await db.close();

  const files = await readModelDir(SHIPPED_BASE_MODEL.path);
  const backend = createBackend({ threads: 1 });
  try {
    const model = Llama.fromTensors(backend, files.config, files.tensors);
    // text it never saw (another seed of the same generator): a trained model predicts it well,
    // a random one scores about ln(vocabulary) ≈ 6.9 nats per token
    const text = [...syntheticCorpus({ seed: 12345, maxChars: 3000 })].join('');
    const ids = files.tokenizer.encode(text, { addSpecialTokens: false }).slice(0, 257);
    const { lossSum, tokens } = await model.loss(Int32Array.from(ids.slice(0, -1)), Int32Array.from(ids.slice(1)), 1, ids.length - 1);
    assert.ok(lossSum / tokens < 2, `loss ${lossSum / tokens} nats per token on unseen generated text`);
  } finally {
    await backend.dispose();
  }
});
