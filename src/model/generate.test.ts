import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate } from './generate.ts';
import { Llama } from './llama.ts';
import { referenceBackend, tinyConfig } from './test-models.test-util.ts';

describe('generate', () => {
  it('continues greedily like the argmax of the logits, stops on a stop token, and is seeded', async () => {
    const be = referenceBackend();
    const config = tinyConfig();
    const model = Llama.random(be, config, 1);
    for (const [, t] of model.namedWeights()) be.write(t, (await be.read(t)).map((v) => v * 20));
    const greedy = await generate(model, null, [1, 2, 3], { maxTokens: 6 });
    assert.equal(greedy.tokens.length, 6);
    assert.equal(greedy.finishReason, 'length');
    const seq = [1, 2, 3, greedy.tokens[0]!];
    const logits = await model.logits(Int32Array.from(seq), 1, seq.length);
    const row = logits.subarray(3 * config.vocabSize, 4 * config.vocabSize);
    assert.equal(greedy.tokens[1], row.indexOf(Math.max(...row)));
    const stopped = await generate(model, null, [1, 2, 3], { maxTokens: 6, stopTokens: [greedy.tokens[2]!] });
    assert.deepEqual(stopped, { tokens: greedy.tokens.slice(0, 2), finishReason: 'stop' });
    const a = await generate(model, null, [1], { maxTokens: 8, temperature: 1, seed: 4 });
    assert.deepEqual(await generate(model, null, [1], { maxTokens: 8, temperature: 1, seed: 4 }), a);
  });
});
