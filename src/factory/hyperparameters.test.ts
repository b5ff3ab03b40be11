import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTO_EPOCHS, AUTO_TARGET_STEPS, hyperparametersSchema, resolveHyperparameters } from './hyperparameters.ts';

describe('hyperparameters', () => {
  it("size 'auto' epochs, rank, alpha and learning rate from the training set", () => {
    const hp = hyperparametersSchema.parse({});
    assert.equal(hp.epochs, 'auto');
    const small = resolveHyperparameters(hp, 144);
    assert.deepEqual([small.epochs, small.rank, small.alpha, small.learningRate], [Math.ceil(AUTO_TARGET_STEPS / 18), 16, 32, 5e-3]);
    assert.equal(resolveHyperparameters(hp, 3).epochs, AUTO_EPOCHS.max, 'a tiny datanet is not seen hundreds of times');
    const large = resolveHyperparameters(hp, 100_000);
    assert.deepEqual([large.epochs, large.rank, large.alpha], [AUTO_EPOCHS.min, 32, 64]);
    assert.ok(Math.abs(resolveHyperparameters(hyperparametersSchema.parse({ batchSize: 32 }), 500).learningRate - 1e-2) < 1e-12);
  });

  it('keep what the builder set', () => {
    const r = resolveHyperparameters(hyperparametersSchema.parse({ epochs: 3, rank: 4, alpha: 8, learningRate: 0.02 }), 144);
    assert.deepEqual([r.epochs, r.rank, r.alpha, r.learningRate], [3, 4, 8, 0.02]);
  });

  it('refuse what is not a number or auto', () => {
    assert.throws(() => hyperparametersSchema.parse({ epochs: 'many' }));
    assert.throws(() => hyperparametersSchema.parse({ rank: 0 }));
    assert.throws(() => hyperparametersSchema.parse({ traceCheckpoints: 3 }), /traceCheckpoints/);
  });
});
