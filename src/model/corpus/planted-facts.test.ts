import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generatePlantedFacts, PlantedFactsError } from './planted-facts.ts';
import { syntheticCorpus } from './synthetic-text.ts';

describe('generatePlantedFacts', () => {
  const data = generatePlantedFacts({ seed: 7, facts: 60 });

  it('is the same for the same seed', () => {
    assert.deepEqual(generatePlantedFacts({ seed: 7, facts: 60 }), data);
    assert.notDeepEqual(generatePlantedFacts({ seed: 8, facts: 60 }).facts, data.facts);
  });

  it('writes several paraphrased records per fact and holds some out', () => {
    assert.equal(data.facts.length, 60);
    assert.equal(data.train.length, 60 * 4);
    assert.equal(data.heldOut.length, 60);
    assert.ok(data.train.every((r) => r.split === 'train') && data.heldOut.every((r) => r.split === 'heldout'));
    const ids = new Set([...data.train, ...data.heldOut].map((r) => r.id));
    assert.equal(ids.size, 300);
    for (const fact of data.facts) {
      const train = data.train.filter((r) => r.factId === fact.id);
      const held = data.heldOut.filter((r) => r.factId === fact.id);
      assert.equal(train.length, 4);
      assert.equal(held.length, 1);
      const prompts = new Set(train.map((r) => r.prompt));
      assert.equal(prompts.size, 4, 'train prompts are distinct paraphrases');
      assert.ok(!prompts.has(held[0]!.prompt), 'the held-out prompt is a wording not trained on');
      for (const r of [...train, ...held]) {
        assert.equal(r.contributor, fact.contributor);
        assert.ok(r.prompt.includes(fact.subject), r.prompt);
        assert.ok(!r.prompt.includes(fact.object), r.prompt);
        assert.ok(r.response.includes(fact.subject) && r.response.includes(fact.object), r.response);
        if (fact.relation === 'pet') assert.ok(r.prompt.includes(fact.animal!));
      }
    }
  });

  it('uses every relation and spreads facts over contributors', () => {
    assert.equal(new Set(data.facts.map((f) => f.relation)).size, 5);
    const contributors = new Set(data.facts.map((f) => f.contributor));
    assert.deepEqual([...contributors].sort(), ['contributor-0', 'contributor-1', 'contributor-2', 'contributor-3']);
  });

  it('invents names that are unique and never occur in the synthetic corpus', () => {
    const big = generatePlantedFacts({ seed: 3, facts: 2000 });
    const names = big.facts.flatMap((f) => [f.subject, f.object].map((n) => n.toLowerCase()));
    assert.equal(new Set(names).size, names.length);
    const words = new Set<string>();
    for (const chunk of syntheticCorpus({ seed: 1, maxChars: 1_000_000 })) for (const m of chunk.toLowerCase().matchAll(/\p{L}+/gu)) words.add(m[0]);
    for (const name of names) assert.ok(!words.has(name), name);
  });

  it('follows the options', () => {
    const small = generatePlantedFacts({ seed: 1, facts: 5, paraphrasesPerFact: 6, heldOutPerFact: 2, contributors: 1 });
    assert.equal(small.train.length, 20);
    assert.equal(small.heldOut.length, 10);
    assert.ok(small.facts.every((f) => f.contributor === 'contributor-0'));
    assert.equal(generatePlantedFacts({ seed: 1, facts: 3, heldOutPerFact: 0 }).heldOut.length, 0);
  });

  it('makes many facts without running out of names', () => {
    const many = generatePlantedFacts({ seed: 4, facts: 10_000, paraphrasesPerFact: 2 });
    assert.equal(many.facts.length, 10_000);
    assert.equal(new Set(many.facts.flatMap((f) => [f.subject, f.object])).size, 20_000);
  });

  it('rejects bad options', () => {
    assert.throws(() => generatePlantedFacts({ seed: 0.5 }), PlantedFactsError);
    assert.throws(() => generatePlantedFacts({ seed: 1, facts: 0 }), /facts must be/);
    assert.throws(() => generatePlantedFacts({ seed: 1, paraphrasesPerFact: 7 }), /paraphrasesPerFact must be an integer from 2 to 6/);
    assert.throws(() => generatePlantedFacts({ seed: 1, paraphrasesPerFact: 3, heldOutPerFact: 3 }), /heldOutPerFact/);
    assert.throws(() => generatePlantedFacts({ seed: 1, contributors: 0 }), /contributors/);
  });
});
