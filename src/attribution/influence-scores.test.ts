import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createBlockedSketch } from '../model/gradient-sketch.ts';
import { Llama } from '../model/llama.ts';
import { seededRandom } from '../model/random.ts';
import { referenceBackend, tinyConfig } from '../model/test-models.test-util.ts';
import type { AttributionModel, InfluenceFeatures } from './attribution-model.ts';
import { evenBlocks } from './influence.ts';
import { nullBaseline, outputGradient } from './influence-scores.ts';

describe('influence scores', () => {
  it('project the output’s gradient as finite differences of its loss say (along random sketch directions)', async () => {
    const be = referenceBackend();
    const config = tinyConfig();
    const model = Llama.random(be, config, 3);
    const lora = model.createLora({ r: 2, alpha: 4, targetModules: ['q_proj', 'v_proj', 'down_proj'], baseModel: 'test' }, 5);
    const params = model.loraParameters(lora);
    const rng = seededRandom(11);
    for (const p of params) be.write(p.value, Float32Array.from({ length: p.value.length }, () => rng.normal() * 0.2));
    const D = 24;
    const sketch = createBlockedSketch(params.map((p) => p.value.length), params.map((p) => Number(/layers\.(\d+)\./.exec(p.name)![1])), [12, 12], 7);
    const features = { method: 'fisher', damping: 0.1, rows: new Float32Array(0), dimension: D, blocks: evenBlocks(D, 2), lambdas: new Float64Array(2), sketch } as InfluenceFeatures;
    const m = { model, lora } as AttributionModel;
    const prompt = [1, 5, 9, 2], output = [7, 3, 30, 11, 4];
    const { gradient: q, surprisal } = await outputGradient(m, features, prompt, output);
    assert.equal(surprisal.length, output.length);

    // the loss the gradient is of: mean over the output tokens, given the prompt
    const seq = [...prompt, ...output];
    const ids = Int32Array.from(seq.slice(0, -1)), targets = Int32Array.from(seq.slice(1), (t, i) => (i + 1 >= prompt.length ? t : -1));
    const loss = async () => {
      const r = await model.loss(ids, targets, 1, ids.length, lora);
      return r.lossSum / r.tokens;
    };
    // each parameter coordinate's column of the sketch (where it lands, with its sign)
    const sizes = params.map((p) => p.value.length);
    const columns: Float32Array[] = [];
    for (const [t, n] of sizes.entries()) {
      for (let j = 0; j < n; j++) {
        const pieces = sizes.map((len, u) => new Float32Array(len));
        pieces[t]![j] = 1;
        const col = new Float32Array(D);
        sketch.project(pieces, col);
        columns.push(col);
      }
    }
    const values = await Promise.all(params.map((p) => be.read(p.value)));
    for (let trial = 0; trial < 3; trial++) {
      const v = Float32Array.from({ length: D }, () => rng.normal());
      // u = Sᵀv in parameter space: the loss moves along it at rate ∇L·u = (S∇L)·v = q·v
      const u = columns.map((c) => c.reduce((a, x, k) => a + x * v[k]!, 0));
      const eps = 1e-2;
      const at = async (sign: number) => {
        let k = 0;
        params.forEach((p, t) => be.write(p.value, Float32Array.from(values[t]!, (x) => x + sign * eps * u[k++]!)));
        return loss();
      };
      const numeric = ((await at(1)) - (await at(-1))) / (2 * eps);
      params.forEach((p, t) => be.write(p.value, values[t]!));
      const analytic = q.reduce((a, x, k) => a + x * v[k]!, 0);
      assert.ok(Math.abs(numeric - analytic) <= 0.02 * Math.abs(analytic) + 2e-3, `trial ${trial}: finite difference ${numeric} vs projected gradient ${analytic}`);
    }
  });

  it('take the null baseline as the median and the scaled median absolute deviation, robust to the few examples that matter', () => {
    assert.deepEqual(nullBaseline([]), { median: 0, scale: 0 });
    const b = nullBaseline([1, 2, 3, 4, 100]);
    assert.equal(b.median, 3);
    assert.ok(Math.abs(b.scale - 1.4826) < 1e-12);
    assert.equal(nullBaseline([5, 1, 3, 2]).median, 2.5);
  });
});
