import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './random.ts';
import { sampleToken } from './sample-token.ts';

describe('sampleToken', () => {
  it('is argmax at temperature 0 and stays inside the top-p nucleus', () => {
    const logits = Float32Array.from([0, 5, 1, 4.9, -2]);
    assert.equal(sampleToken(logits, {}, Math.random), 1);
    const rng = seededRandom(1);
    const seen = new Set(Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 1, topP: 0.9 }, rng.next)));
    assert.deepEqual([...seen].sort(), [1, 3]);
  });
});
