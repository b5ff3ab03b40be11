import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_PADDING, planPasses } from './training-passes.ts';

describe('planPasses', () => {
  it('runs every example exactly once, in passes within the token budget and the padding bound', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 40 }), fc.integer({ min: 1, max: 2048 }), (lengths, budget) => {
      const passes = planPasses(lengths, budget);
      const seen = passes.flatMap((p) => p.examples).sort((a, b) => a - b);
      assert.deepEqual(seen, lengths.map((_, i) => i));
      for (const { examples, length } of passes) {
        assert.equal(length, Math.max(...examples.map((i) => lengths[i]!)));
        assert.ok(examples.length === 1 || examples.length * length <= budget, 'over the budget');
        for (const i of examples) assert.ok(lengths[i]! >= (1 - MAX_PADDING) * length, 'too much padding');
      }
    }));
  });

  it('puts examples of one length together up to the budget, and a long one alone', () => {
    assert.deepEqual(planPasses([128, 128, 100, 300], 512), [{ examples: [3], length: 300 }, { examples: [0, 1, 2], length: 128 }]);
    assert.deepEqual(planPasses(Array(6).fill(128), 512).map((p) => p.examples), [[0, 1, 2, 3], [4, 5]]);
    assert.deepEqual(planPasses([2000], 512), [{ examples: [0], length: 2000 }]);
    assert.deepEqual(planPasses([], 512), []);
  });

  it('refuses lengths and budgets that are not positive integers', () => {
    assert.throws(() => planPasses([4, 0]), /example 1: length/);
    assert.throws(() => planPasses([4, 2.5]), /example 1: length/);
    assert.throws(() => planPasses([4], 0), /passTokens/);
    assert.throws(() => planPasses([4], Number.NaN), /passTokens/);
  });
});
