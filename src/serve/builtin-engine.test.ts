import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createBackend } from '../model/create-backend.ts';
import { tinyRandomAdapter } from '../model/export-fixtures.test-util.ts';
import { Llama } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import { peftAdapterFiles } from '../model/peft.ts';
import { createBuiltinEngine } from './builtin-engine.ts';

const backend = createBackend({ threads: 1 });
after(() => backend.dispose());

test('prefetch brings a queued request’s adapter into host memory: the request then only uploads it', async () => {
  const base = { id: 'shipped', dir: join(import.meta.dirname, '../../models/openledger-tiny') };
  const files = await readModelDir(base.dir);
  const model = Llama.fromTensors(backend, files.config, files.tensors);
  const engine = createBuiltinEngine({ loadBase: async () => ({ model, tokenizer: files.tokenizer }) });
  let fetched = 0;
  const peft = peftAdapterFiles(tinyRandomAdapter(files.config, { r: 4, alpha: 8, targets: ['q_proj', 'v_proj'], seed: 1 }));
  const served = { name: 'a', base, adapter: { key: 'a', files: async () => (fetched++, peft) } };
  engine.prefetch(served);
  const { adapters } = await engine.baseState(base);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(adapters.stats.loads, 1, 'fetched from the store ahead of the request');
  assert.equal(adapters.isResident('a'), false, 'not on the engine yet');
  const c = await engine.complete(served, { prompt: 'The river', maxTokens: 4, temperature: 0, topP: 1, seed: 0, stop: [] });
  assert.equal(c.completionTokens, 4);
  assert.equal(adapters.stats.hostHits, 1);
  assert.equal(fetched, 1);
});
