import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruResources } from './lru-resources.ts';

const pool = (max: number) => {
  const created: string[] = [], disposed: string[] = [];
  const r = new LruResources<string>({ max, create: async (k) => (created.push(k), `value-${k}`), dispose: (v, k) => void disposed.push(k) });
  return { r, created, disposed };
};
const tick = () => new Promise((r) => setImmediate(r));

test('makes each resource once and disposes of the least recently used idle one beyond the bound', async () => {
  const { r, created, disposed } = pool(2);
  assert.equal(await r.use('a', async (v) => v), 'value-a');
  await r.use('b', async () => {});
  await r.use('a', async () => {}); // a is now the most recently used
  await r.use('c', async () => {});
  await tick();
  assert.deepEqual(created, ['a', 'b', 'c']);
  assert.deepEqual(disposed, ['b']);
  assert.equal(r.size, 2);
});

test('never disposes of a resource in use; the bound holds again once it is free', async () => {
  const { r, disposed } = pool(1);
  let release!: () => void;
  const busy = r.use('a', () => new Promise<void>((res) => (release = res)));
  await tick();
  await r.use('b', async () => {});
  await tick();
  assert.deepEqual(disposed, ['b'], 'a is in use, so b (idle, and over the bound) goes');
  release();
  await busy;
  await r.use('c', async () => {});
  await tick();
  assert.deepEqual(disposed, ['b', 'a']);
});

test('a failed creation is not kept; forget drops without disposing; clear disposes of all', async () => {
  let fail = true;
  const disposed: string[] = [];
  const r = new LruResources<string>({ max: 4, create: async (k) => { if (fail) throw new Error('no'); return k; }, dispose: (v) => void disposed.push(v) });
  await assert.rejects(r.use('a', async () => {}), /no/);
  await tick();
  assert.equal(r.size, 0);
  fail = false;
  await r.use('a', async () => {});
  await r.use('b', async () => {});
  r.forget('a');
  await r.clear();
  assert.deepEqual(disposed, ['b']);
});
