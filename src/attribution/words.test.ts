import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alignToWords, wordBoundaries, wordWeights } from './words.ts';

describe('words in attribution', () => {
  it('tell which tokens start and end at word boundaries, and shrink spans to whole words', () => {
    // " The| Zor|v|ania| is| Quill|mere|."
    const text = ' The Zorvania is Quillmere.';
    const pieces = [' The', ' Zor', 'v', 'ania', ' is', ' Quill', 'mere', '.'];
    let at = 0;
    const offsets = pieces.map((p) => [at, (at += p.length)] as [number, number]);
    const { starts, ends } = wordBoundaries(text, offsets);
    assert.deepEqual([...starts], [1, 1, 0, 0, 1, 1, 0, 1]);
    assert.deepEqual([...ends], [1, 0, 0, 1, 1, 0, 1, 1]);
    // "v|ania| is| Quill" → " is" (the fragments of both names are dropped)
    assert.deepEqual(alignToWords(2, 6, starts, ends), [4, 5]);
    // a fragment alone is no word
    assert.equal(alignToWords(2, 3, starts, ends), null);
    assert.deepEqual(alignToWords(0, 8, starts, ends), [0, 8]);
  });

  it('weigh each word by the surprisal of its tokens, splitting a token shared by two words', () => {
    const text = 'ab cd';
    // tokens "ab c" (shared: 2 chars of "ab", 1 of "cd") and "d"
    const w = wordWeights(text, [[0, 4], [4, 5]], [3, 1]);
    assert.deepEqual(w.map((x) => [x.word, x.weight]), [['ab', 2], ['cd', 2]]);
    // a token with no characters of its own (part of a multi-byte character) weighs nothing
    assert.deepEqual(wordWeights('é', [[0, 0], [0, 1]], [5, 1]).map((x) => x.weight), [1]);
    assert.throws(() => wordWeights('ab', [[0, 2]], [1, 2]), RangeError);
  });
});
