import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { groupContributions, similarity } from './contribution-groups.ts';

/** A document's words with weights: template words weigh ~0, names ~10. */
const doc = (entries: Record<string, number>) => new Map(Object.entries(entries));
const T = { the: 0.1, capital: 0.5, of: 0.05, is: 0.2, city: 0.8, what: 0.3, language: 0.6, speak: 0.7, people: 0.4, lives: 0.5, in: 0.1 };

describe('contribution groups', () => {
  // 0, 1, 4: the same fact in other words (4 from another contributor, later); 2: same entity,
  // another attribute; 3: another entity, same value; 5: a near-miss name; 6: held out (no words)
  const documents = [
    doc({ ...pick('what', 'is', 'the', 'capital', 'of'), zorvania: 10, quillmere: 11 }),
    doc({ ...pick('quillmere', 'is', 'the', 'capital', 'city', 'of'), zorvania: 9.5, quillmere: 10.5 }),
    doc({ ...pick('what', 'language', 'people', 'speak', 'in'), zorvania: 9, zorvish: 8 }),
    doc({ ...pick('lives', 'in'), bram: 9, quillmere: 10 }),
    doc({ ...pick('the', 'capital', 'city', 'of', 'is'), zorvania: 10, quillmere: 11 }),
    doc({ ...pick('what', 'is', 'the', 'capital', 'of'), zorvenia: 10, dalford: 11 }),
    doc({}),
  ];
  const order = [3, 0, 1, 2, 5, 4, 6];
  const earlier = (a: number, b: number) => order[a]! - order[b]!;

  it('joins documents that say the same thing, and nothing else', () => {
    const g = groupContributions(documents, earlier, { threshold: 0.6 });
    assert.ok(similarity(documents[0]!, documents[1]!) > 0.8);
    assert.ok(similarity(documents[0]!, documents[2]!) < 0.5 && similarity(documents[0]!, documents[3]!) < 0.5 && similarity(documents[0]!, documents[5]!) < 0.1);
    // the group's representative is its earliest member (document 1 came first)
    assert.deepEqual([...g.representative], [1, 1, 2, 3, 1, 5, -1]);
    assert.deepEqual(g.members.get(1), [1, 0, 4]);
    assert.equal(g.members.size, 4);
  });

  it('does not depend on the order documents are given in (property)', () => {
    fc.assert(fc.property(fc.shuffledSubarray([0, 1, 2, 3, 4, 5, 6], { minLength: 7, maxLength: 7 }), fc.double({ min: 0.2, max: 0.95, noNaN: true }), (perm, threshold) => {
      const base = groupContributions(documents, earlier, { threshold });
      const shuffled = groupContributions(perm.map((i) => documents[i]!), (a, b) => order[perm[a]!]! - order[perm[b]!]!, { threshold });
      // the same partition, the same representatives, up to renumbering
      perm.forEach((orig, k) => {
        const rep = shuffled.representative[k]!;
        assert.equal(rep < 0 ? -1 : perm[rep], base.representative[orig]);
      });
    }));
  });

  it('puts every copy of a document in the document’s group (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 6 }), (copied) => {
      const padded = [...documents, ...copied.map((i) => new Map(documents[i]!))];
      const later = [...order, ...copied.map((_, k) => 100 + k)];
      const g = groupContributions(padded, (a, b) => later[a]! - later[b]!, { threshold: 0.6 });
      const before = groupContributions(documents, earlier, { threshold: 0.6 });
      copied.forEach((orig, k) => assert.equal(g.representative[documents.length + k], before.representative[orig]));
      assert.equal(g.members.size, before.members.size, 'copies form no group of their own');
    }));
  });

  it('rejects a bad threshold', () => {
    assert.throws(() => groupContributions(documents, earlier, { threshold: 0 }), /threshold/);
    assert.throws(() => groupContributions(documents, earlier, { threshold: 1.5 }), /threshold/);
  });
});

function pick(...keys: Array<keyof typeof T | string>): Record<string, number> {
  return Object.fromEntries(keys.filter((k) => k in T).map((k) => [k, T[k as keyof typeof T]]));
}
