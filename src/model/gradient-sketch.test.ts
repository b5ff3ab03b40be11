import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createGradientSketch, SketchLengthError } from './gradient-sketch.ts';
import { seededRandom } from './random.ts';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('createGradientSketch', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const g = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const a = new Float32Array(64), b = new Float32Array(64), c = new Float32Array(64);
    createGradientSketch(1000, 64, 1).project([g], a);
    createGradientSketch(1000, 64, 1).project([g.subarray(0, 300), g.subarray(300)], b);
    createGradientSketch(1000, 64, 2).project([g], c);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('preserves dot products and cosine similarity approximately', () => {
    const rng = seededRandom(3);
    const n = 20000, dim = 1024;
    const sketch = createGradientSketch(n, dim, 5);
    const x = Float32Array.from({ length: n }, () => rng.normal());
    const related = Float32Array.from(x, (v) => v + rng.normal()); // cosine ≈ 0.707
    const unrelated = Float32Array.from({ length: n }, () => rng.normal());
    const sx = new Float32Array(dim), sr = new Float32Array(dim), su = new Float32Array(dim);
    sketch.project([x], sx);
    sketch.project([related], sr);
    sketch.project([unrelated], su);
    const cos = (a: Float32Array, b: Float32Array) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
    assert.ok(Math.abs(cos(sx, sr) - cos(x, related)) < 0.06, `${cos(sx, sr)} vs ${cos(x, related)}`);
    assert.ok(Math.abs(cos(sx, su)) < 0.1);
    assert.ok(Math.abs(dot(sx, sx) / dot(x, x) - 1) < 0.1);
  });

  it('accumulates with a scale and rejects wrong lengths', () => {
    const sketch = createGradientSketch(10, 4, 1);
    const g = Float32Array.from({ length: 10 }, (_, i) => i);
    const once = new Float32Array(4), twice = new Float32Array(4);
    sketch.project([g], once, 2);
    sketch.project([g], twice);
    sketch.project([g], twice);
    assert.deepEqual(once, twice);
    assert.throws(() => sketch.project([g.subarray(1)], once), SketchLengthError);
    assert.throws(() => sketch.project([g], new Float32Array(3)), SketchLengthError);
  });
});
