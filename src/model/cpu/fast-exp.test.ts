import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expNonPositive } from './fast-exp.ts';

test('expNonPositive matches Math.exp to 1e-9 relative over [−87, 0], is 0 below and exact-ish above', () => {
  let worst = 0;
  for (let i = 0; i <= 2_000_000; i++) {
    const x = -87 * (i / 2_000_000) ** 2; // dense near 0, where softmax weights live
    worst = Math.max(worst, Math.abs(expNonPositive(x) - Math.exp(x)) / Math.exp(x));
  }
  assert.ok(worst < 1e-9, `worst relative error ${worst}`);
  assert.equal(expNonPositive(0), 1);
  assert.equal(expNonPositive(-88), 0);
  assert.equal(expNonPositive(-Infinity), 0);
  assert.equal(expNonPositive(1e-7), Math.exp(1e-7));
});
