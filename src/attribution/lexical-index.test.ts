import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLexicalIndex } from './lexical-index.ts';

describe('LexicalIndex', () => {
  const docs = [
    'Question: What is the capital of Zorvania? Answer: The capital of Zorvania is Quillmere.',
    'Question: What language do people speak in Zorvania? Answer: People in Zorvania speak Zorvish.',
    'Question: Where does Bram live? Answer: Bram lives in Quillmere.',
    null, // held out
    'Question: What is the capital of Zorvenia? Answer: The capital of Zorvenia is Dalford.',
  ];
  const index = buildLexicalIndex(docs);

  it('counts documents and weighs rare words over template words', () => {
    assert.equal(index.documents, 5);
    assert.equal(index.liveDocuments, 4);
    assert.equal(index.documentFrequency('question'), 4);
    assert.ok(index.idf('question') < 0.15, 'a word in every document weighs ~0');
    assert.ok(index.idf('zorvish') > index.idf('capital'));
    assert.ok(index.idf('unseen') > index.idf('zorvish'));
    assert.deepEqual(index.documentsWith('zorvania'), [0, 1]);
    assert.ok(index.has(4, 'zorvenia') && !index.has(4, 'zorvania') && !index.has(3, 'question'));
  });

  it('counts a word once per unit: copies grouped together change no frequency', () => {
    const copies = ['alpha zorvania', 'alpha zorvania', 'alpha zorvania', 'beta quillmere', 'gamma dalford'];
    const byDocument = buildLexicalIndex(copies);
    const byGroup = buildLexicalIndex(copies, (d) => (d < 3 ? 0 : d));
    assert.equal(byDocument.documentFrequency('zorvania'), 3);
    assert.equal(byGroup.documentFrequency('zorvania'), 1);
    assert.equal(byGroup.liveDocuments, 3);
    // a word in one group of three is a candidate, though three of five documents hold it
    assert.deepEqual(byGroup.candidates(new Set(['zorvania'])), [0, 1, 2]);
    assert.deepEqual(byDocument.candidates(new Set(['zorvania'])), []);
  });

  it('ranks the document matching the question and the answer first (BM25)', () => {
    const query = new Set(['what', 'is', 'the', 'capital', 'of', 'zorvania', 'quillmere']);
    const scores = [0, 1, 2, 3, 4].map((d) => index.bm25(d, query));
    assert.equal(scores.indexOf(Math.max(...scores)), 0);
    assert.equal(scores[3], 0);
    assert.ok(scores[1]! > 0 && scores[2]! > 0 && scores[4]! > 0);
    // candidates: documents with a word of the query found in at most half of them
    assert.deepEqual(index.candidates(query), [0, 1, 2, 4]);
    assert.deepEqual(index.candidates(new Set(['question', 'what'])), []);
  });
});
