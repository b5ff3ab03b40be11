import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TensorMap } from '../model/tensor-map.ts';
import { EarlyStopping } from './early-stopping.ts';

const weights = (x: number) => async () => new Map([['a', Float32Array.of(x, x)]]);

describe('EarlyStopping', () => {
  it('keeps the best epoch and stops after `patience` epochs without a 0.5 % improvement', async () => {
    const s = new EarlyStopping(2);
    await s.observe(0, 2.0, weights(0));
    await s.observe(1, 1.5, weights(1));
    await s.observe(2, 1.499, weights(2)); // under 0.5 % better: stale
    assert.equal(s.stopped, false);
    await s.observe(3, 1.6, weights(3));
    assert.equal(s.stopped, true);
    assert.equal(s.best!.epoch, 1);
    assert.deepEqual([...s.best!.weights.get('a')!], [1, 1]);
    assert.equal(s.epochsSeen, 4);
  });

  it('is off with patience 0', async () => {
    const s = new EarlyStopping(0);
    await s.observe(0, 1, weights(0));
    assert.equal(s.enabled, false);
    assert.equal(s.best, null);
  });

  it('decides the same after a restart from a checkpoint as without one', async () => {
    const losses = [3, 2.2, 2.1, 2.0999, 2.3, 2.2, 2.4];
    const straight = new EarlyStopping(3);
    for (const [e, l] of losses.entries()) if (!straight.stopped) await straight.observe(e, l + 1e-9 * e, weights(e));
    // the same run, checkpointed and restored after every epoch
    let state: TensorMap = new Map();
    for (const [e, l] of losses.entries()) {
      const s = new EarlyStopping(3);
      s.load(state);
      if (s.stopped) break;
      await s.observe(e, l + 1e-9 * e, weights(e));
      state = new Map();
      s.save(state);
    }
    const resumed = new EarlyStopping(3);
    resumed.load(state);
    assert.deepEqual({ best: resumed.best!.epoch, stopped: resumed.stopped, seen: resumed.epochsSeen }, { best: straight.best!.epoch, stopped: straight.stopped, seen: straight.epochsSeen });
    assert.deepEqual([straight.best!.epoch, straight.stopped, straight.epochsSeen], [2, true, 6]);
  });
});
