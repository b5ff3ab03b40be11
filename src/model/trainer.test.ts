import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Llama } from './llama.ts';
import { seededRandom } from './random.ts';
import { cosineLearningRate, defaultOptimizerOptions, Trainer, type TrainingExample } from './trainer.ts';
import { referenceBackend, tinyConfig } from './test-models.test-util.ts';

function examples(n: number, vocab: number, seed: number): TrainingExample[] {
  const rng = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const len = 4 + rng.int(6);
    const seq = Int32Array.from({ length: len + 1 }, () => rng.int(vocab));
    // first two tokens are the "prompt": no loss there
    return { ids: seq.subarray(0, len), targets: Int32Array.from(seq.subarray(1), (t, i) => (i < 2 ? -1 : t)) };
  });
}

describe('cosineLearningRate', () => {
  it('warms up linearly, peaks, and decays to the floor', () => {
    const o = { lr: 1, warmupSteps: 4, totalSteps: 14, minLrRatio: 0.1 };
    assert.equal(cosineLearningRate(0, o), 0.25);
    assert.equal(cosineLearningRate(3, o), 1);
    assert.equal(cosineLearningRate(4, o), 1);
    assert.ok(Math.abs(cosineLearningRate(9, o) - 0.55) < 1e-12);
    assert.ok(Math.abs(cosineLearningRate(14, o) - 0.1) < 1e-12);
    assert.ok(Math.abs(cosineLearningRate(100, o) - 0.1) < 1e-12);
  });
});

describe('Trainer', () => {
  it('LoRA training lowers the loss on its data and leaves the base weights alone', async () => {
    const be = referenceBackend();
    const config = tinyConfig();
    const model = Llama.random(be, config, 1);
    for (const [, t] of model.namedWeights()) be.write(t, (await be.read(t)).map((v) => v * 10));
    const before = await model.toTensors();
    const lora = model.createLora({ r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj', 'up_proj', 'down_proj'], baseModel: 'test' }, 2);
    const data = examples(4, config.vocabSize, 3);
    const trainer = new Trainer(model, lora, { ...defaultOptimizerOptions, lr: 2e-2, warmupSteps: 2, totalSteps: 60 });
    const first = await trainer.step(data);
    let last = first;
    for (let i = 1; i < 60; i++) last = await trainer.step(data);
    assert.ok(last.loss < first.loss * 0.6, `loss ${first.loss} → ${last.loss}`);
    assert.deepEqual(await model.toTensors(), before);
  });

  it('pre-training updates every weight and lowers the loss', async () => {
    const be = referenceBackend();
    const config = tinyConfig({ tieEmbeddings: true });
    const model = Llama.random(be, config, 4);
    const data = examples(3, config.vocabSize, 5);
    const trainer = new Trainer(model, null, { ...defaultOptimizerOptions, lr: 1e-2, warmupSteps: 1, totalSteps: 40 });
    const first = await trainer.step(data);
    let last = first;
    for (let i = 1; i < 40; i++) last = await trainer.step(data);
    assert.ok(last.loss < first.loss * 0.5, `loss ${first.loss} → ${last.loss}`);
  });

  it('resumes from a saved state exactly where it stopped', async () => {
    const be = referenceBackend();
    const config = tinyConfig();
    const data = examples(2, config.vocabSize, 9);
    const fresh = () => {
      const model = Llama.random(be, config, 10);
      const lora = model.createLora({ r: 2, alpha: 4, targetModules: ['k_proj', 'gate_proj'], baseModel: 'test' }, 11);
      return new Trainer(model, lora, { ...defaultOptimizerOptions, lr: 1e-2, totalSteps: 6 });
    };
    const straight = fresh();
    for (let i = 0; i < 6; i++) await straight.step(data);
    const first = fresh();
    for (let i = 0; i < 3; i++) await first.step(data);
    const checkpoint = await first.saveState();
    const resumed = fresh();
    resumed.loadState(checkpoint);
    assert.equal(resumed.stepsDone, 3);
    for (let i = 3; i < 6; i++) await resumed.step(data);
    assert.deepEqual(await resumed.saveState(), await straight.saveState());
  });

  it('steps in passes of several padded examples as it would one example at a time', async () => {
    const be = referenceBackend();
    const config = tinyConfig({ tieEmbeddings: true });
    // lengths 4…9: some passes pad their shorter members, some examples go alone
    const data = examples(7, config.vocabSize, 12);
    for (const lora of [true, false]) {
      const run = async (passTokens: number) => {
        const model = Llama.random(be, config, 13);
        const adapter = lora ? model.createLora({ r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'], baseModel: 'test' }, 14) : null;
        const trainer = new Trainer(model, adapter, { ...defaultOptimizerOptions, lr: 1e-2, totalSteps: 3 }, { passTokens });
        const results = [];
        for (let i = 0; i < 3; i++) results.push(await trainer.step(data));
        return { results, state: await trainer.saveState() };
      };
      const alone = await run(1), together = await run(64);
      for (const [i, r] of together.results.entries()) {
        assert.ok(Math.abs(r.loss - alone.results[i]!.loss) < 1e-5, `loss ${r.loss} vs ${alone.results[i]!.loss}`);
        assert.ok(Math.abs(r.gradNorm - alone.results[i]!.gradNorm) < 1e-5 * Math.max(1, r.gradNorm), `grad norm ${r.gradNorm} vs ${alone.results[i]!.gradNorm}`);
      }
      for (const [name, t] of alone.state) {
        const other = together.state.get(name)!.data as Float32Array;
        (t.data as Float32Array).forEach((v, j) => assert.ok(Math.abs(v - other[j]!) < 1e-5 * Math.max(1, Math.abs(v)), `${name}[${j}]: ${v} vs ${other[j]}`));
      }
    }
  });
});
