import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  fillTemplate, formatInstruction, formatQuestion, RELATIONS, syntheticCorpus, syntheticDocuments, SyntheticTextError, syntheticVocabulary,
  type SyntheticDocument,
} from './synthetic-text.ts';

function take(n: number, seed: number, mix?: Partial<Record<SyntheticDocument['kind'], number>>): SyntheticDocument[] {
  const out: SyntheticDocument[] = [];
  for (const doc of syntheticDocuments({ seed, mix })) {
    out.push(doc);
    if (out.length === n) break;
  }
  return out;
}

describe('syntheticDocuments', () => {
  it('is the same for the same seed and differs between seeds', () => {
    assert.deepEqual(take(50, 11), take(50, 11));
    assert.notDeepEqual(take(50, 11), take(50, 12));
  });

  it('mixes stories, facts and question/answer pairs', () => {
    const docs = take(3000, 3);
    const share = (kind: string) => docs.filter((d) => d.kind === kind).length / docs.length;
    assert.ok(Math.abs(share('story') - 0.5) < 0.05, `stories ${share('story')}`);
    assert.ok(Math.abs(share('facts') - 0.2) < 0.05, `facts ${share('facts')}`);
    assert.ok(Math.abs(share('qa') - 0.3) < 0.05, `qa ${share('qa')}`);
    const stories = docs.filter((d) => d.kind === 'story');
    assert.ok(new Set(stories.map((d) => d.text)).size > stories.length * 0.95, 'stories should rarely repeat');
    for (const d of stories.slice(0, 100)) assert.match(d.text, /^[A-Z"].*[.!"]$/);
  });

  it('writes question/answer pairs in the instruction template', () => {
    for (const doc of take(300, 4, { qa: 1, story: 0, facts: 0 })) {
      assert.equal(doc.kind, 'qa');
      assert.match(doc.text, /^### Question: [^\n]+[?.]\n### Answer: [^\n]+\.\n$/);
    }
  });

  it('keeps to a vocabulary of a few hundred words', () => {
    const vocab = syntheticVocabulary();
    assert.ok(vocab.size >= 200 && vocab.size <= 600, `${vocab.size} words`);
    for (const doc of take(5000, 99)) {
      for (const m of doc.text.toLowerCase().matchAll(/\p{L}+/gu)) assert.ok(vocab.has(m[0]), `"${m[0]}" in ${JSON.stringify(doc.text)}`);
    }
  });

  it('rejects bad options', () => {
    assert.throws(() => syntheticDocuments({ seed: 1.5 }), SyntheticTextError);
    assert.throws(() => syntheticDocuments({ seed: 1, mix: { story: -1 } }), /non-negative/);
    assert.throws(() => syntheticDocuments({ seed: 1, mix: { story: 0, facts: 0, qa: 0 } }), /positive sum/);
    assert.throws(() => syntheticCorpus({ seed: 1, maxChars: Number.NaN }), /maxChars/);
  });
});

describe('syntheticCorpus', () => {
  it('streams documents, each followed by the separator, until maxChars', () => {
    let total = 0;
    let chunks = 0;
    for (const chunk of syntheticCorpus({ seed: 2, maxChars: 200_000 })) {
      assert.ok(chunk.endsWith('<|endoftext|>'));
      assert.equal(chunk.indexOf('<|endoftext|>'), chunk.length - '<|endoftext|>'.length);
      total += chunk.length;
      chunks++;
    }
    assert.ok(total >= 200_000 && total < 201_000, `${total} chars`);
    assert.ok(chunks > 500);
    const custom = [...syntheticCorpus({ seed: 2, maxChars: 1000, separator: '\n\n' })];
    assert.ok(custom.every((c) => c.endsWith('\n\n')));
    assert.deepEqual([...syntheticCorpus({ seed: 2, maxChars: 0 })], []);
  });

  it('makes megabytes quickly', () => {
    const start = performance.now();
    let total = 0;
    for (const chunk of syntheticCorpus({ seed: 8, maxChars: 2_000_000 })) total += chunk.length;
    assert.ok(total >= 2_000_000);
    assert.ok(performance.now() - start < 10_000);
  });
});

describe('instruction template', () => {
  it('formats prompts and examples', () => {
    assert.equal(formatQuestion('What is two plus two?'), '### Question: What is two plus two?\n### Answer:');
    const example = formatInstruction('What is two plus two?', 'Two plus two is four.');
    assert.equal(example, '### Question: What is two plus two?\n### Answer: Two plus two is four.\n');
    assert.ok(example.startsWith(formatQuestion('What is two plus two?')));
  });

  it('fills relation templates', () => {
    assert.equal(fillTemplate('The capital of {S} is {O}.', { S: 'France', O: 'Paris' }), 'The capital of France is Paris.');
    assert.equal(fillTemplate('The {A} of {S} is called {O}.', { S: 'Tom', O: 'Rex', A: 'dog' }), 'The dog of Tom is called Rex.');
    for (const r of RELATIONS) {
      assert.ok(r.questions.length >= 5 && r.answers.length >= 2, r.name);
      for (const t of [...r.questions, ...r.answers]) assert.ok(t.includes('{S}'), t);
      for (const t of r.answers) assert.ok(t.includes('{O}'), t);
    }
  });
});
