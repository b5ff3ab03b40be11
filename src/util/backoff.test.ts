import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBackoff } from './backoff.ts';

describe('createBackoff', () => {
  it('doubles the delay per failure up to the maximum, and forgets a key on success', () => {
    let t = 1_000;
    const b = createBackoff({ baseMs: 10, maxMs: 35, now: () => t });
    assert.equal(b.due('a'), true);
    assert.deepEqual(b.failed('a'), { attempts: 1, nextAt: 1_010 });
    assert.equal(b.due('a'), false);
    assert.equal(b.due('b'), true, 'other keys are not held back');
    t = 1_010;
    assert.equal(b.due('a'), true);
    assert.deepEqual(b.failed('a'), { attempts: 2, nextAt: 1_030 });
    assert.deepEqual(b.failed('a'), { attempts: 3, nextAt: 1_045 }, 'capped at maxMs');
    assert.deepEqual(b.failing(), ['a']);
    b.succeeded('a');
    assert.equal(b.due('a'), true);
    assert.deepEqual(b.failing(), []);
  });
});
