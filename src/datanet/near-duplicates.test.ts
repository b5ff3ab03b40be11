import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { FORMAT_VERSION } from './near-duplicates-codec.ts';
import { createNearDuplicateIndex, NearDuplicateError, restoreNearDuplicateIndex } from './near-duplicates.ts';
import { exactJaccard, shingleHashes, shingleSet } from './shingles.ts';

const INFLUENZA = [
  'Influenza is a contagious respiratory illness caused by influenza viruses that infect the nose, throat and lungs.',
  'It can cause mild to severe illness, and at times it can lead to death.',
  'People with flu often feel some or all of these symptoms: fever or feeling feverish, chills, cough, sore throat, runny or stuffy nose, muscle or body aches, headaches and fatigue.',
  'Some people may have vomiting and diarrhoea, though this is more common in children than adults.',
  'Most people who get flu will recover in a few days to less than two weeks, but some develop complications such as pneumonia.',
  'The best way to reduce the risk of seasonal flu and its potentially serious complications is to get vaccinated every year.',
  'Good health habits like covering your cough and washing your hands often can help stop the spread of germs.',
];
const INFLUENZA_TEXT = INFLUENZA.join(' ');

const UNRELATED = [
  'Photosynthesis converts light energy into chemical energy stored in glucose. Chlorophyll in the chloroplasts absorbs mostly blue and red light, and the oxygen we breathe is released as a by-product of splitting water.',
  'A binary search tree keeps its keys in order so that lookups, insertions and deletions take time proportional to the height of the tree. Balanced variants such as red-black trees keep that height logarithmic.',
  'The fog comes on little cat feet. It sits looking over harbour and city on silent haunches and then moves on.',
  'Measles is a highly contagious viral disease that spreads through the air when an infected person coughs or sneezes; a rash appears a few days after the fever begins.',
  'To bake sourdough bread, feed the starter the night before, mix flour, water and salt in the morning, fold the dough every half hour, shape it, proof it overnight in the fridge and bake it in a hot covered pot.',
  'What is a fever?\nA raised body temperature, usually a sign that the body is fighting an infection.',
  INFLUENZA.slice(0, 2).join(' '),
];

test('identical texts, and copies that differ only in whitespace, case or punctuation, are near-duplicates with similarity 1', () => {
  const index = createNearDuplicateIndex();
  index.add('original', INFLUENZA_TEXT);
  const copies = [
    INFLUENZA_TEXT,
    INFLUENZA_TEXT.toUpperCase(),
    INFLUENZA_TEXT.replace(/ /g, '   ').replace(/\. /g, '.\n\n'),
    INFLUENZA_TEXT.replace(/[,.:]/g, ''),
    INFLUENZA_TEXT.replace(/,/g, ' ;').replace(/\./g, '!'),
    `  ${INFLUENZA_TEXT.toLowerCase()}\t`,
    INFLUENZA_TEXT.replace(/e/g, 'e\u200b'), // zero-width spaces inside words
  ];
  for (const copy of copies) assert.deepEqual(index.check(copy), { duplicateOf: 'original', similarity: 1 }, copy.slice(0, 60));
});

test('small edits to a long text are caught: a changed word, a dropped sentence, reordered sentences', () => {
  const index = createNearDuplicateIndex();
  index.add('original', INFLUENZA_TEXT);
  const edits = {
    'one word changed': INFLUENZA_TEXT.replace('mild to severe', 'mild to grave'),
    'two words changed': INFLUENZA_TEXT.replace('contagious', 'infectious').replace('every year', 'each year'),
    'a word added': INFLUENZA_TEXT.replace('recover in', 'fully recover in'),
    'a word removed': INFLUENZA_TEXT.replace(' seasonal', ''),
    'sentences reordered': [INFLUENZA[2], INFLUENZA[0], INFLUENZA[1], INFLUENZA[4], INFLUENZA[3], INFLUENZA[5], INFLUENZA[6]].join(' '),
    'two sentences swapped, in a paragraph of its own': [...INFLUENZA.slice(0, 5), INFLUENZA[6], INFLUENZA[5]].join('\n\n'),
    'last sentence dropped': INFLUENZA.slice(0, 6).join(' '),
  };
  for (const [name, text] of Object.entries(edits)) {
    const exact = exactJaccard(shingleSet(shingleHashes(text)), shingleSet(shingleHashes(INFLUENZA_TEXT)));
    const result = index.check(text);
    assert.equal(result.duplicateOf, 'original', `${name} (exact Jaccard ${exact.toFixed(2)})`);
    assert.ok(result.similarity! < 1 && Math.abs(result.similarity! - exact) < 0.12, `${name}: ${result.similarity} vs exact ${exact}`);
  }
});

test('unrelated texts, and texts that only share a topic or a part, are not near-duplicates', () => {
  const index = createNearDuplicateIndex();
  index.add('influenza', INFLUENZA_TEXT);
  UNRELATED.forEach((text, i) => {
    assert.deepEqual(index.check(text), {}, text.slice(0, 40));
    index.add(`u${i}`, text);
  });
  for (const [i, text] of UNRELATED.entries()) {
    const others = createNearDuplicateIndex();
    UNRELATED.forEach((t, j) => j !== i && others.add(`u${j}`, t));
    assert.deepEqual(others.check(text), {}, text.slice(0, 40));
  }
  assert.deepEqual(index.check(INFLUENZA.slice(0, 4).join(' ')), {}, 'the first half of the text is not a near-duplicate of it at 0.8');
});

test('the records of the datanet lifecycle test: a changed question and upper-cased answer are caught, short ones are not', () => {
  const long = 'Influenza is a contagious respiratory illness caused by influenza viruses that infect the nose, throat and lungs.';
  // recordText of { question, answer }: the values in key order.
  const index = createNearDuplicateIndex({ threshold: 0.8 });
  index.add('fever', 'A raised body temperature.\nWhat is a fever?');
  index.add('influenza', `${long}\nWhat is influenza?`);
  assert.deepEqual(index.check(`${long.replace('nose, throat', 'nose,  throat').toUpperCase()}\nwhat is influenza`), {
    duplicateOf: 'influenza',
    similarity: 1,
  });
  assert.deepEqual(index.check('A raised heart rate.\nWhat is a fever?'), {});
  assert.deepEqual(index.check('The fog comes on little cat feet.'), {});
});

test('the most similar indexed text is reported; among equals, the earliest added', () => {
  const index = createNearDuplicateIndex({ threshold: 0.5 });
  const half = INFLUENZA.slice(0, 6).join(' ');
  index.add('part', half);
  index.add('whole', INFLUENZA_TEXT);
  index.add('whole again', INFLUENZA_TEXT);
  assert.equal(index.check(INFLUENZA_TEXT).duplicateOf, 'whole');
  assert.equal(index.check(half).duplicateOf, 'part');
  index.remove('whole');
  assert.equal(index.check(INFLUENZA_TEXT).duplicateOf, 'whole again');
});

test('a removed id (a rejected contribution) is no longer a near-duplicate of anything; adding again replaces', () => {
  const index = createNearDuplicateIndex();
  index.add('spam', 'CHEAP WATCHES cheap watches best prices click here now');
  assert.equal(index.check('cheap watches, cheap watches: best prices! Click here now.').duplicateOf, 'spam');
  assert.equal(index.remove('spam'), true);
  assert.equal(index.remove('spam'), false);
  assert.equal(index.size, 0);
  assert.deepEqual(index.check('cheap watches, cheap watches: best prices! Click here now.'), {});
  index.add('x', INFLUENZA_TEXT);
  index.add('x', UNRELATED[0]!);
  assert.deepEqual(index.check(INFLUENZA_TEXT), {});
  assert.equal(index.check(UNRELATED[0]!).duplicateOf, 'x');
});

test('checking one text and adding another uses the second text', () => {
  const index = createNearDuplicateIndex();
  assert.deepEqual(index.check(INFLUENZA_TEXT), {});
  index.add('other', UNRELATED[1]!);
  assert.deepEqual(index.check(INFLUENZA_TEXT), {});
  assert.equal(index.check(UNRELATED[1]!).duplicateOf, 'other');
});

test('a text with no words after normalisation is never a near-duplicate and is not indexed', () => {
  const index = createNearDuplicateIndex();
  index.add('dots', '...');
  assert.equal(index.has('dots'), false);
  assert.equal(index.size, 0);
  assert.deepEqual(index.check('!!!'), {});
  assert.deepEqual(index.check(''), {});
});

test('character shingles catch edits in text written without spaces', () => {
  const index = createNearDuplicateIndex({ shingle: { kind: 'chars', size: 2 } });
  const poem = '春眠不覚暁、処処に啼鳥を聞く。夜来風雨の声、花落つること知る多少。静かな朝の庭で、雨上がりの光が葉の上に揺れている。';
  index.add('poem', poem);
  assert.equal(index.check(poem.replace('静かな', '穏やかな')).duplicateOf, 'poem');
  assert.equal(index.check(poem.replaceAll('、', ' ')).similarity, 1);
  assert.deepEqual(index.check('東京は日本の首都であり、世界で最も人口の多い都市圏の一つです。多くの企業の本社があります。'), {});
  // Word shingles would see one "word" per clause and miss the edit.
  const words = createNearDuplicateIndex();
  words.add('poem', poem);
  assert.deepEqual(words.check(poem.replace('静かな', '穏やかな')), {});
});

test('reported similarity is the estimate from the signatures, close to the exact Jaccard similarity', () => {
  const vocabulary = Array.from({ length: 300 }, (_, i) => `w${i.toString(36)}`);
  const document = fc.array(fc.constantFrom(...vocabulary), { minLength: 60, maxLength: 200 });
  fc.assert(
    fc.property(document, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...vocabulary)), { maxLength: 25 }), (words, edits) => {
      const edited = [...words];
      for (const [at, word] of edits) edited[at % edited.length] = word;
      const exact = exactJaccard(shingleSet(shingleHashes(words.join(' '))), shingleSet(shingleHashes(edited.join(' '))));
      const index = createNearDuplicateIndex();
      index.add('d', words.join(' '));
      const { duplicateOf, similarity } = index.check(edited.join(' '));
      if (exact >= 0.95) assert.equal(duplicateOf, 'd', `exact ${exact}`);
      if (exact <= 0.55) assert.equal(duplicateOf, undefined, `exact ${exact}`);
      if (duplicateOf) assert.ok(Math.abs(similarity! - exact) <= 0.2, `estimate ${similarity} vs exact ${exact}`);
    }),
    // Statistical bounds (over 4.5 standard errors): a fixed seed keeps CI deterministic.
    { seed: 8, numRuns: 150 },
  );
});

function sampleIndex() {
  const index = createNearDuplicateIndex({ threshold: 0.7 });
  index.add('0xinfluenza', INFLUENZA_TEXT);
  UNRELATED.forEach((text, i) => index.add(`0xu${i}`, text));
  index.add('0xcopy', INFLUENZA_TEXT);
  index.remove('0xu2');
  index.add('0xü-unicode-id', 'Ünïcödé ids and texts survive the round trip.');
  return index;
}

test('serialize and restore round-trip: same bytes, same answers, same order, and it keeps working', () => {
  const index = sampleIndex();
  const bytes = index.serialize();
  const restored = restoreNearDuplicateIndex(bytes);
  assert.deepEqual(restored.serialize(), bytes);
  for (const key of ['threshold', 'numPerm', 'seed', 'bands', 'rows', 'size'] as const) assert.equal(restored[key], index[key], key);
  assert.deepEqual(restored.shingle, index.shingle);
  for (const text of [INFLUENZA_TEXT, ...UNRELATED, INFLUENZA.slice(0, 5).join(' '), 'nothing like it']) assert.deepEqual(restored.check(text), index.check(text));
  assert.equal(restored.check(INFLUENZA_TEXT).duplicateOf, '0xinfluenza', 'insertion order survives');
  assert.equal(restored.has('0xu2'), false);
  assert.equal(restored.check('Ünïcödé ids and texts survive the round trip').duplicateOf, '0xü-unicode-id');
  restored.remove('0xinfluenza');
  restored.add('0xnew', UNRELATED[2]!);
  assert.equal(restored.check(INFLUENZA_TEXT).duplicateOf, '0xcopy');
  assert.equal(restored.check(UNRELATED[2]!).duplicateOf, '0xnew');
  const empty = createNearDuplicateIndex({ shingle: { kind: 'chars', size: 4 }, numPerm: 64, seed: 99 });
  const back = restoreNearDuplicateIndex(empty.serialize());
  assert.deepEqual([back.size, back.numPerm, back.seed, back.shingle], [0, 64, 99, { kind: 'chars', size: 4 }]);
  // A Buffer (as node-postgres returns a bytea) at an odd offset of a larger allocation.
  const pooled = Buffer.concat([Buffer.from([1, 2, 3]), bytes]).subarray(3);
  assert.deepEqual(restoreNearDuplicateIndex(pooled).serialize(), bytes);
});

test('the serialized index is the same on every run (golden digest)', () => {
  const a = sampleIndex().serialize();
  assert.deepEqual(sampleIndex().serialize(), a);
  // If this changes, indexes that nodes persisted no longer match new signatures: bump FORMAT_VERSION.
  assert.equal(createHash('sha256').update(a).digest('hex'), GOLDEN_DIGEST);
  assert.equal(FORMAT_VERSION, 1);
});
const GOLDEN_DIGEST = '0c45b685e78dbe7741732662b95f58b3882d06fab672ac43fe505b513913c5f5';

test('restoring with another threshold re-bands the stored signatures', () => {
  const bytes = sampleIndex().serialize();
  const strict = restoreNearDuplicateIndex(bytes, { threshold: 0.95 });
  assert.deepEqual([strict.threshold, strict.bands, strict.rows], [0.95, 8, 16]);
  assert.equal(strict.check(INFLUENZA_TEXT).duplicateOf, '0xinfluenza');
  assert.deepEqual(strict.check(INFLUENZA_TEXT.replace('mild to severe', 'mild to grave')), {});
  assert.equal(restoreNearDuplicateIndex(bytes).check(INFLUENZA_TEXT.replace('mild to severe', 'mild to grave')).duplicateOf, '0xinfluenza');
});

test('corrupt, truncated or foreign bytes are refused with a typed error', () => {
  const bytes = sampleIndex().serialize();
  const code = (b: Uint8Array) => {
    try {
      restoreNearDuplicateIndex(b);
      return 'restored';
    } catch (e) {
      assert.ok(e instanceof NearDuplicateError);
      return e.code;
    }
  };
  const flipped = bytes.slice();
  flipped[100]! ^= 1;
  assert.equal(code(flipped), 'corrupt_near_duplicate_index');
  assert.equal(code(bytes.subarray(0, bytes.length - 8)), 'corrupt_near_duplicate_index');
  assert.equal(code(new Uint8Array(10)), 'corrupt_near_duplicate_index');
  assert.equal(code(new TextEncoder().encode('x'.repeat(100))), 'corrupt_near_duplicate_index');
  const future = bytes.slice();
  new DataView(future.buffer).setUint16(4, FORMAT_VERSION + 1, true);
  assert.equal(code(future), 'unsupported_near_duplicate_index');
});

test('bad options are refused with a typed error', () => {
  for (const options of [
    { threshold: 0 },
    { threshold: 1.2 },
    { threshold: Number.NaN },
    { numPerm: 0 },
    { numPerm: 1.5 },
    { shingle: { kind: 'words' as const, size: 0 } },
    { shingle: { kind: 'bytes', size: 3 } as never },
    { seed: -1 },
    { banding: { bands: 20, rows: 7 } },
  ]) {
    assert.throws(() => createNearDuplicateIndex(options), (e: unknown) => e instanceof NearDuplicateError && e.code === 'invalid_near_duplicate_options', JSON.stringify(options));
  }
  const index = createNearDuplicateIndex();
  assert.deepEqual([index.threshold, index.numPerm, index.bands, index.rows, index.seed, index.shingle], [0.8, 128, 21, 6, 1, { kind: 'words', size: 3 }]);
});
