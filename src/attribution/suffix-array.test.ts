import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { lcpArray, suffixArray, SuffixArrayError } from './suffix-array.ts';

/** Suffix order with a virtual sentinel: a proper prefix sorts first. */
function compareSuffixes(t: ArrayLike<number>, a: number, b: number): number {
  while (a < t.length && b < t.length) {
    if (t[a] !== t[b]) return t[a]! - t[b]!;
    a++;
    b++;
  }
  return a < t.length ? 1 : b < t.length ? -1 : 0;
}

const naiveSuffixArray = (t: ArrayLike<number>) => Array.from({ length: t.length }, (_, i) => i).sort((a, b) => compareSuffixes(t, a, b));

function naiveLcp(t: ArrayLike<number>, sa: ArrayLike<number>): number[] {
  return Array.from({ length: sa.length }, (_, i) => {
    if (i === 0) return 0;
    let h = 0;
    while (sa[i - 1]! + h < t.length && sa[i]! + h < t.length && t[sa[i - 1]! + h] === t[sa[i]! + h]) h++;
    return h;
  });
}

/** Random texts over a small alphabet (many repeats: deep recursion) or a sparse large one. */
const texts = fc.integer({ min: 1, max: 6 }).chain((k) =>
  fc.tuple(fc.constant(k), fc.array(fc.integer({ min: 0, max: k - 1 }), { maxLength: 300, size: 'max' })),
);

describe('suffixArray (SA-IS)', () => {
  it('sorts the suffixes of small examples, with the virtual sentinel', () => {
    assert.deepEqual([...suffixArray(Int32Array.of(2, 1, 2, 1, 0), 3)], [4, 3, 1, 2, 0]);
    assert.deepEqual([...suffixArray(Int32Array.of(1, 1), 2)], [1, 0]);
    assert.deepEqual([...suffixArray(new Int32Array(0), 1)], []);
    assert.deepEqual([...suffixArray(Int32Array.of(0), 1)], [0]);
    // "mississippi" over letters.
    const word = Int32Array.from('mississippi', (c) => c.charCodeAt(0));
    assert.deepEqual([...suffixArray(word, 128)], [10, 7, 4, 1, 0, 9, 8, 6, 3, 5, 2]);
  });

  it('equals a naive sort on random texts over small alphabets (property)', () => {
    fc.assert(fc.property(texts, ([k, xs]) => {
      assert.deepEqual([...suffixArray(Int32Array.from(xs), k)], naiveSuffixArray(xs));
    }), { numRuns: 400 });
  });

  it('equals a naive sort on periodic and sparse-alphabet texts (property)', () => {
    const periodic = fc.tuple(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 60 }), fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3, size: 'max' }))
      .map(([unit, times, tail]) => [...Array.from({ length: times }, () => unit).flat(), ...tail]);
    fc.assert(fc.property(periodic, (xs) => {
      assert.deepEqual([...suffixArray(Int32Array.from(xs), 4)], naiveSuffixArray(xs));
    }), { numRuns: 200 });
    const sparse = fc.array(fc.integer({ min: 0, max: 99_999 }), { maxLength: 200, size: 'max' });
    fc.assert(fc.property(sparse, (xs) => {
      assert.deepEqual([...suffixArray(Int32Array.from(xs), 100_000)], naiveSuffixArray(xs));
    }), { numRuns: 100 });
  });

  it('sorts long repetitive texts (checked by adjacent comparisons)', () => {
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
    const base = Int32Array.from({ length: 2000 }, () => next() % 5);
    // The base repeated with rare edits: long common prefixes, several recursion levels.
    const text = new Int32Array(60_000);
    for (let i = 0; i < text.length; i++) text[i] = next() % 500 === 0 ? next() % 5 : base[i % base.length]!;
    const sa = suffixArray(text, 5);
    const seen = new Uint8Array(text.length);
    for (const p of sa) seen[p] = 1;
    assert.equal(seen.indexOf(0), -1, 'a permutation of the positions');
    for (let i = 1; i < sa.length; i++) assert.ok(compareSuffixes(text, sa[i - 1]!, sa[i]!) < 0, `order at ${i}`);
    const allSame = suffixArray(new Int32Array(10_000).fill(3), 4);
    assert.deepEqual([...allSame.subarray(0, 3)], [9999, 9998, 9997]);
  });

  it('reuses a given output array', () => {
    const out = new Int32Array(10).fill(-5);
    const sa = suffixArray(Int32Array.of(1, 0, 1), 2, out);
    assert.equal(sa.buffer, out.buffer);
    assert.deepEqual([...sa], [1, 2, 0]);
  });

  it('rejects tokens outside the alphabet and bad alphabet sizes', () => {
    assert.throws(() => suffixArray(Int32Array.of(0, 3), 3), (e: unknown) => e instanceof SuffixArrayError && /token 3 at position 1/.test(e.message));
    assert.throws(() => suffixArray(Int32Array.of(-1), 3), SuffixArrayError);
    assert.throws(() => suffixArray(Int32Array.of(0), 0), /alphabet size/);
    assert.throws(() => suffixArray(Int32Array.of(0), 1.5), /alphabet size/);
    assert.throws(() => suffixArray(Int32Array.of(0, 0), 1, new Int32Array(1)), /output array/);
  });
});

describe('lcpArray (Kasai)', () => {
  it('equals the naive longest common prefixes of adjacent suffixes (property)', () => {
    fc.assert(fc.property(texts, ([k, xs]) => {
      const t = Int32Array.from(xs);
      const sa = suffixArray(t, k);
      assert.deepEqual([...lcpArray(t, sa)], naiveLcp(xs, sa));
    }), { numRuns: 200 });
  });

  it('rejects a suffix array that does not fit the text', () => {
    assert.throws(() => lcpArray(Int32Array.of(1, 2), Int32Array.of(0)), SuffixArrayError);
    assert.throws(() => lcpArray(Int32Array.of(1, 2), Int32Array.of(0, 5)), /outside the text/);
  });
});
