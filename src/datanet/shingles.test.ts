import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { murmur3 } from './murmur3.ts';
import { exactJaccard, normalizeText, shingleHashes, shingleSet } from './shingles.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
const h = (s: string) => murmur3(utf8(s), 0);

test('normalisation: NFKC, case folding, punctuation, invisible characters and whitespace', () => {
  assert.equal(normalizeText('  Hello,   WORLD!\n(It’s me.)'), 'hello world its me');
  assert.equal(normalizeText('ＦＵＬＬ　ｗｉｄｔｈ'), 'full width', 'NFKC folds full-width letters and the ideographic space');
  assert.equal(normalizeText('ﬁne ½'), 'fine 1⁄2', 'NFKC expands ligatures and compatibility forms');
  assert.equal(normalizeText('STRASSE'), normalizeText('straße'), 'ß folds to ss');
  assert.equal(normalizeText('STRAẞE'), 'strasse', 'so does capital ẞ');
  assert.equal(normalizeText('ΟΔΟΣ'), normalizeText('οδος'), 'final sigma agrees');
  assert.equal(normalizeText('e\u0301'), normalizeText('\u00e9'), 'composed and decomposed accents agree');
  assert.equal(normalizeText('zero\u200bwidth soft\u00adhyphen jo\u200dined'), 'zerowidth softhyphen joined');
  assert.equal(normalizeText("don't dont"), 'dont dont');
  assert.equal(normalizeText('a—b…c\t\td\r\ne\u00a0f'), 'a b c d e f');
  assert.equal(normalizeText('  ¿¡!!  '), '');
  assert.equal(normalizeText('$100 + 5% = x²'), '$100 + 5 = x2', 'symbols stay, punctuation goes, superscripts fold');
});

test('normalisation is idempotent and case-blind, code point by code point', () => {
  // Every code point, alone: normalising twice changes nothing, and its lower and upper case
  // normalise the same (this found ẞ, ΐ and ΰ, whose case mappings leave NFC).
  const bad: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x30000 ? 1 : 0x100) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const once = normalizeText(c);
    if (normalizeText(once) !== once || normalizeText(c.toLowerCase()) !== once || normalizeText(c.toUpperCase()) !== once) bad.push(cp.toString(16));
  }
  assert.deepEqual(bad, []);
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (s) => assert.equal(normalizeText(normalizeText(s)), normalizeText(s))));
});

test('word shingles are murmur3 of k consecutive normalised words joined by one space', () => {
  assert.deepEqual(
    [...shingleHashes('The cat,  sat on the MAT.')],
    ['the cat sat', 'cat sat on', 'sat on the', 'on the mat'].map(h),
  );
  assert.deepEqual([...shingleHashes('one two three four', { kind: 'words', size: 2 })], ['one two', 'two three', 'three four'].map(h));
  assert.deepEqual([...shingleHashes('Short text')], [h('short text')], 'a text shorter than a shingle is one shingle');
  assert.deepEqual([...shingleHashes('ça va bien')], [h('ça va bien')], 'exactly one shingle');
  assert.equal(shingleHashes('').length, 0);
  assert.equal(shingleHashes(' ... !!! ').length, 0, 'nothing left after normalisation: no shingles');
});

test('character shingles count code points, not UTF-16 units or bytes', () => {
  assert.deepEqual([...shingleHashes('猫が座った', { kind: 'chars', size: 2 })], ['猫が', 'が座', '座っ', 'った'].map(h));
  assert.deepEqual([...shingleHashes('a😀b c', { kind: 'chars', size: 3 })], ['a😀b', '😀b ', 'b c'].map(h));
  assert.deepEqual([...shingleHashes('Hi!', { kind: 'chars', size: 5 })], [h('hi')]);
});

test('word shingles equal hashing each joined string, for any words', () => {
  const word = fc.stringMatching(/^[a-zà-ÿα-ω一-龥]{1,8}$/);
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 5 }), (words, k) => {
      const text = words.join(' ');
      const norm = normalizeText(text).split(' ');
      const expected =
        norm.length <= k ? [h(norm.join(' '))] : Array.from({ length: norm.length - k + 1 }, (_, i) => h(norm.slice(i, i + k).join(' ')));
      assert.deepEqual([...shingleHashes(text, { kind: 'words', size: k })], expected);
    }),
  );
});

test('shingleSet sorts and deduplicates; exactJaccard is |A∩B| / |A∪B|', () => {
  assert.deepEqual([...shingleSet(Uint32Array.of(5, 1, 5, 0xffffffff, 1))], [1, 5, 0xffffffff]);
  assert.equal(exactJaccard(Uint32Array.of(1, 2, 3), Uint32Array.of(2, 3, 4)), 0.5);
  assert.equal(exactJaccard(new Uint32Array(0), new Uint32Array(0)), 0);
  fc.assert(
    fc.property(fc.array(fc.nat(50)), fc.array(fc.nat(50)), (xs, ys) => {
      const a = new Set(xs);
      const b = new Set(ys);
      const common = [...a].filter((x) => b.has(x)).length;
      const union = a.size + b.size - common;
      const j = exactJaccard(shingleSet(Uint32Array.from(xs)), shingleSet(Uint32Array.from(ys)));
      assert.equal(j, union === 0 ? 0 : common / union);
    }),
  );
});
