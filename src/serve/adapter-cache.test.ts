import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tinyRandomAdapter, tinyRandomWeights } from '../model/export-fixtures.test-util.ts';
import { Llama } from '../model/llama.ts';
import { referenceBackend, tinyConfig } from '../model/test-models.test-util.ts';
import { AdapterCache, AdapterCacheFullError } from './adapter-cache.ts';

const config = tinyConfig();
const model = Llama.fromTensors(referenceBackend(), config, tinyRandomWeights(config, 1));
const weights = (key: string) => tinyRandomAdapter(config, { r: 2, alpha: 4, targets: ['q_proj', 'v_proj'], seed: key.charCodeAt(0) });
const size = weights('a').layers.reduce((n, l) => n + (l.q_proj!.a.length + l.q_proj!.b.length + l.v_proj!.a.length + l.v_proj!.b.length) * 4, 0);
// on the engine an adapter also holds its factors in the backend's serving form
const engineSize = model.loraBytes(weights('a'));

function cache(engineAdapters: number, hostAdapters: number) {
  const loads: string[] = [];
  const c = new AdapterCache(model, {
    engineBytes: engineAdapters * engineSize, hostBytes: hostAdapters * size,
    load: async (key) => {
      loads.push(key);
      await new Promise((r) => setTimeout(r, 5));
      return weights(key);
    },
  });
  return { c, loads };
}

describe('AdapterCache', () => {
  it('serves from the engine, then host memory, then the store, least recently used evicted first', async () => {
    const { c, loads } = cache(2, 3);
    for (const key of ['a', 'b', 'a', 'c']) {
      await c.acquire(key);
      c.release(key);
    }
    // engine holds a and c (b was least recently used); host holds a, b, c
    assert.equal(c.isResident('b'), false);
    assert.equal(c.isResident('a') && c.isResident('c'), true);
    await c.acquire('b');
    c.release('b');
    assert.deepEqual(loads, ['a', 'b', 'c'], 'b came back from host memory, not the store');
    assert.deepEqual([c.stats.engineHits, c.stats.hostHits, c.stats.loads, c.stats.engineEvictions], [1, 1, 3, 2]);
    assert.ok(c.stats.engineBytes <= 2 * engineSize && c.stats.hostBytes <= 3 * size);
  });

  it('never evicts an adapter in use, and says so when all are', async () => {
    const { c } = cache(2, 4);
    await c.acquire('a');
    await c.acquire('b');
    await assert.rejects(c.acquire('c'), AdapterCacheFullError);
    c.release('a');
    await c.acquire('c');
    assert.equal(c.isResident('b'), true);
    assert.equal(c.isResident('a'), false);
  });

  it('loads an adapter once for concurrent requests, prefetches into host memory, and computes like a direct load', async () => {
    const { c, loads } = cache(4, 4);
    const [x, y] = await Promise.all([c.acquire('p'), c.acquire('p')]);
    assert.equal(x, y);
    assert.deepEqual(loads, ['p']);
    c.prefetch('q');
    await new Promise((r) => setTimeout(r, 20));
    await c.acquire('q');
    assert.deepEqual(loads, ['p', 'q']);
    assert.equal(c.stats.hostHits, 1);
    const ids = Int32Array.from([1, 2, 3, 4]);
    assert.deepEqual(await model.logits(ids, 1, 4, x), await model.logits(ids, 1, 4, model.loadLora(weights('p'), 'serving')));
  });
});
