import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createLshIndex } from './lsh-index.ts';

/** A signature of 8 values made of 4 bands of 2 rows: `bandValues[i]` fills band i. */
const sig = (...bandValues: number[]) => Uint32Array.from(bandValues.flatMap((v) => [v, v + 1]));

test('signatures that share a band are candidates, in insertion order', () => {
  const lsh = createLshIndex({ numPerm: 8, bands: 4, rows: 2 });
  lsh.add('b', sig(1, 2, 3, 4));
  lsh.add('a', sig(10, 20, 30, 4));
  lsh.add('c', sig(100, 200, 300, 400));
  assert.equal(lsh.size, 3);
  assert.deepEqual(lsh.query(sig(1, 0, 0, 0)), ['b']);
  assert.deepEqual(lsh.query(sig(0, 0, 0, 4)), ['b', 'a']);
  assert.deepEqual(lsh.query(sig(1, 20, 300, 4)), ['b', 'a', 'c']);
  assert.deepEqual(lsh.query(sig(4, 3, 2, 1)), [], 'the same values in other bands do not count');
  assert.deepEqual(lsh.query(Uint32Array.of(1, 0, 0, 2, 0, 0, 0, 0)), [], 'part of a band does not count');
});

test('removing an id takes it out of every bucket; adding an id again replaces its signature', () => {
  const lsh = createLshIndex({ numPerm: 8, bands: 4, rows: 2 });
  lsh.add('x', sig(1, 2, 3, 4));
  lsh.add('y', sig(1, 2, 3, 4));
  assert.equal(lsh.remove('x'), true);
  assert.equal(lsh.remove('x'), false);
  assert.equal(lsh.has('x'), false);
  assert.deepEqual(lsh.query(sig(1, 2, 3, 4)), ['y']);
  lsh.add('y', sig(5, 6, 7, 8));
  assert.equal(lsh.size, 1);
  assert.deepEqual(lsh.query(sig(1, 2, 3, 4)), []);
  assert.deepEqual(lsh.query(sig(5, 0, 0, 0)), ['y']);
  assert.deepEqual([...lsh.signatureOf('y')!], [...sig(5, 6, 7, 8)]);
  lsh.remove('y');
  assert.equal(lsh.size, 0);
  assert.deepEqual(lsh.query(sig(5, 6, 7, 8)), []);
});

test('the index keeps its own copy of a signature; entries come in insertion order', () => {
  const lsh = createLshIndex({ numPerm: 8, bands: 4, rows: 2 });
  const s = sig(1, 2, 3, 4);
  lsh.add('p', s);
  lsh.add('q', sig(9, 9, 9, 9));
  lsh.add('p', s);
  s.fill(0);
  assert.deepEqual(lsh.query(sig(1, 0, 0, 0)), ['p']);
  assert.deepEqual([...lsh.entries()].map(([id]) => id), ['q', 'p']);
});

test('rows beyond bands × rows take no part in banding; bad shapes are refused', () => {
  const lsh = createLshIndex({ numPerm: 9, bands: 4, rows: 2 });
  lsh.add('a', Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9));
  assert.deepEqual(lsh.query(Uint32Array.of(0, 0, 0, 0, 0, 0, 7, 8, 0)), ['a']);
  assert.deepEqual(lsh.query(Uint32Array.of(0, 0, 0, 0, 0, 0, 0, 0, 9)), []);
  assert.throws(() => lsh.add('b', new Uint32Array(8)), RangeError);
  assert.throws(() => createLshIndex({ numPerm: 8, bands: 3, rows: 3 }), RangeError);
  assert.throws(() => createLshIndex({ numPerm: 8, bands: 0, rows: 3 }), RangeError);
});

test('any sequence of adds and removes answers queries as a brute-force comparison of bands does', () => {
  // Values from {0, 1}: buckets are shared by many ids, so they go from one entry to many and back.
  const signature = fc.array(fc.nat(1), { minLength: 8, maxLength: 8 }).map((v) => Uint32Array.from(v));
  const op = fc.oneof(
    fc.record({ add: fc.nat(9), signature }),
    fc.record({ remove: fc.nat(9) }),
    fc.record({ query: signature }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const lsh = createLshIndex({ numPerm: 8, bands: 4, rows: 2 });
      const model = new Map<string, Uint32Array>(); // insertion order, as the index keeps it
      const shareBand = (x: Uint32Array, y: Uint32Array) => [0, 1, 2, 3].some((b) => x[2 * b] === y[2 * b] && x[2 * b + 1] === y[2 * b + 1]);
      for (const o of ops) {
        if ('add' in o) {
          model.delete(`id${o.add}`);
          model.set(`id${o.add}`, o.signature);
          lsh.add(`id${o.add}`, o.signature);
        } else if ('remove' in o) {
          assert.equal(lsh.remove(`id${o.remove}`), model.delete(`id${o.remove}`));
        } else {
          assert.deepEqual(lsh.query(o.query), [...model].filter(([, s]) => shareBand(s, o.query)).map(([id]) => id));
        }
        assert.equal(lsh.size, model.size);
      }
    }),
  );
});
