/**
 * WebGPU token sampling against the CPU's `sampleToken`: greedy rows exactly (ties to the first
 * index), sampled rows exactly except where a draw lies within 1e-5 of a boundary (f32 vs f64
 * probabilities), nucleus edges, equal logits (ties inside the nucleus), and a 32k vocabulary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../random.ts';
import { sampleToken, type SampleParams } from '../../sample-token.ts';
import { openTestGpu, onBoth, randomArray } from '../test-gpu.test-util.ts';

const { skip, backend } = await openTestGpu();

/** The GPU's and the CPU backend's picks for each row. */
async function sampleOnBoth(logits: Float32Array, V: number, params: SampleParams[]): Promise<[number[], number[]]> {
  const rows = params.length;
  const [g, c] = await onBoth(backend(), { logits, ids: new Int32Array(rows) }, (be, t) => be.sample(t.ids!, t.logits!, rows, V, params), ['ids']);
  return [Array.from(g.ids!), Array.from(c.ids!)];
}

/** Whether `token` is what the CPU picks for the row with the draw or top-p moved by at most `eps`. */
function pickedNearby(row: Float32Array, p: SampleParams, token: number, eps = 1e-5): boolean {
  const variants = [
    { ...p, uniform: Math.max(0, p.uniform - eps) }, { ...p, uniform: Math.min(1 - 1e-12, p.uniform + eps) },
    { ...p, topP: p.topP - eps }, { ...p, topP: Math.min(1, p.topP + eps) },
  ];
  return variants.some((q) => sampleToken(row, q, () => q.uniform) === token);
}

test('greedy rows pick the argmax exactly, the first index on ties, across partial thread slices', { skip }, async () => {
  const V = 1000, rows = 6;
  const logits = randomArray(rows * V, 1, 4);
  logits[2 * V + 517] = 9; // a tie: the lower index wins
  logits[2 * V + 903] = 9;
  logits[3 * V + 999] = 12; // the last token
  logits.fill(-1e30, 4 * V, 5 * V); // all equal: token 0
  const params = Array.from({ length: rows }, () => ({ temperature: 0, topP: 1, uniform: 0.5 }));
  const [g, c] = await sampleOnBoth(logits, V, params);
  assert.deepEqual(g, c);
  assert.equal(g[2], 517);
  assert.equal(g[3], 999);
  assert.equal(g[4], 0);
});

test('sampled rows follow the CPU draw through temperature and the top-p nucleus', { skip }, async () => {
  const V = 777, rows = 96;
  const rng = seededRandom(5);
  const logits = randomArray(rows * V, 2, 6);
  const params = Array.from({ length: rows }, (_, i) => ({
    temperature: [0.3, 0.7, 1, 1.5][i % 4]!,
    topP: [0.5, 0.9, 1][i % 3]!,
    uniform: rng.next(),
  }));
  const [g, c] = await sampleOnBoth(logits, V, params);
  let exact = 0;
  for (let i = 0; i < rows; i++) {
    if (g[i] === c[i]) exact++;
    else assert.ok(pickedNearby(logits.subarray(i * V, (i + 1) * V), params[i]!, g[i]!), `row ${i}: GPU ${g[i]}, CPU ${c[i]} and not at a boundary`);
  }
  assert.ok(exact >= rows - 2, `${exact} of ${rows} rows equal`);
  assert.ok(new Set(g).size > rows / 2, 'draws spread over many tokens');
});

test('nucleus edges: a tiny top-p keeps the argmax, draws 0 and ~1 take the nucleus ends, equal logits split by index', { skip }, async () => {
  const V = 300;
  const peaked = randomArray(V, 3, 1);
  peaked[123] = 6;
  const flat = new Float32Array(V); // every probability exactly 1: token ⌈u·V⌉ − 1
  const logits = new Float32Array([...peaked, ...peaked, ...peaked, ...flat, ...flat, ...flat]);
  const params: SampleParams[] = [
    { temperature: 1, topP: 0.05, uniform: 0.99 },
    { temperature: 1, topP: 0.95, uniform: 0 },
    { temperature: 1, topP: 0.95, uniform: 0.9999999 },
    { temperature: 0.8, topP: 1, uniform: 0.5 },
    { temperature: 2, topP: 1, uniform: 0.123 },
    { temperature: 1, topP: 0.5, uniform: 0.999 },
  ];
  const [g, c] = await sampleOnBoth(logits, V, params);
  assert.deepEqual(g, c);
  assert.equal(g[0], 123);
  assert.equal(g[1], 123);
  assert.equal(g[3], Math.ceil(0.5 * V) - 1);
  assert.equal(g[4], Math.ceil(0.123 * V) - 1);
});

test('a 32,000-token vocabulary', { skip }, async () => {
  const V = 32_000, rows = 3;
  const logits = randomArray(rows * V, 4, 8);
  const params = [{ temperature: 0, topP: 1, uniform: 0 }, { temperature: 0.9, topP: 0.9, uniform: 0.37 }, { temperature: 1.2, topP: 1, uniform: 0.81 }];
  const [g, c] = await sampleOnBoth(logits, V, params);
  for (let i = 0; i < rows; i++) {
    assert.ok(g[i] === c[i] || pickedNearby(logits.subarray(i * V, (i + 1) * V), params[i]!, g[i]!), `row ${i}: GPU ${g[i]}, CPU ${c[i]}`);
  }
});
