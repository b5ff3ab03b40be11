import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { words } from './words.ts';

describe('words', () => {
  it('are runs of letters, digits and marks in any script, lower-cased, with their ranges', () => {
    assert.deepEqual(words('The capital of Zorvania is Quillmere.').map((w) => w.word), ['the', 'capital', 'of', 'zorvania', 'is', 'quillmere']);
    assert.deepEqual(words('Zorvania’s 2nd city: Méreville, 東京!'), [
      { word: 'zorvania', start: 0, end: 8 }, { word: 's', start: 9, end: 10 }, { word: '2nd', start: 11, end: 14 },
      { word: 'city', start: 15, end: 19 }, { word: 'méreville', start: 21, end: 30 }, { word: '東京', start: 32, end: 34 },
    ]);
    assert.deepEqual(words(' \n.,'), []);
  });
});
