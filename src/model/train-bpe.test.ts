import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { syntheticCorpus } from './corpus/synthetic-text.ts';
import { seededRandom } from './random.ts';
import { Tokenizer } from './tokenizer.ts';
import { BpeTrainingError, ByteLevelBpeTrainer, byteToUnicode, END_OF_TEXT, PAD, SPACE_MARK, trainByteLevelBpe } from './train-bpe.ts';

const corpus = [...syntheticCorpus({ seed: 5, maxChars: 300_000 })];
const trained = trainByteLevelBpe(corpus, { vocabSize: 512 });
const tok = Tokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig);

/** Text with many distinct made-up words, so that there is always another pair to merge. */
function babble(seed: number, chars: number): string[] {
  const rng = seededRandom(seed);
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sta', 'vel', 'qui', 'zor', 'ba', 'ti', 'do', 'fen', 'gra', 'hu', 'ix'];
  const docs: string[] = [];
  let n = 0;
  while (n < chars) {
    const words: string[] = [];
    for (let i = 0; i < 50; i++) {
      let w = '';
      const len = 1 + rng.int(4);
      for (let j = 0; j < len; j++) w += syllables[rng.int(syllables.length)];
      words.push(w);
    }
    const doc = words.join(' ') + '.';
    docs.push(doc);
    n += doc.length;
  }
  return docs;
}

describe('trainByteLevelBpe', () => {
  it('makes the vocabulary asked for, starting with the added tokens and all 256 bytes', () => {
    assert.equal(tok.vocabSize, 512);
    assert.equal(trained.merges, 512 - 3 - 256);
    assert.equal(tok.idOf(END_OF_TEXT), 0);
    assert.equal(tok.idOf(PAD), 1);
    assert.equal(tok.idOf(SPACE_MARK), 2);
    assert.equal(tok.bosId, 0);
    assert.equal(tok.eosId, 0);
    assert.equal(tok.padId, 1);
    for (const [b, ch] of byteToUnicode().entries()) assert.equal(tok.idOf(ch), 3 + b);
  });

  it('round-trips random unicode text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        assert.equal(tok.decode(tok.encode(text)), text);
      }),
      { numRuns: 500 },
    );
    assert.equal(tok.decode(tok.encode(`a${SPACE_MARK}b 🙂`)), `a${SPACE_MARK}b 🙂`);
  });

  it('turns frequent words into single tokens', () => {
    for (const word of [' the', 'Once', ' Question', ' Answer', '###', ' was', ' went', ' said']) {
      assert.equal(tok.encode(word).length, 1, `${JSON.stringify(word)} should be one token`);
    }
    // Well over two characters a token on text like the training text (bytes alone would be one).
    const text = corpus.slice(-50).join('');
    assert.ok(text.length / tok.encode(text).length > 2.3);
  });

  it('merges the most frequent pair first', () => {
    // Words: "ab" once, " ab" three times, " cd" twice. Pairs: a b ×4, Ġ a ×3, Ġ c ×2, c d ×2.
    const { tokenizerJson } = trainByteLevelBpe(['ab ab ab ab cd cd'], { vocabSize: 262 });
    assert.deepEqual(tokenizerJson.model.merges, ['a b', 'Ġ ab', 'Ġ c']);
  });

  it('does not learn merges across added tokens', () => {
    const { tokenizerJson } = trainByteLevelBpe([`xy${END_OF_TEXT}xy${END_OF_TEXT}xy${PAD}`], { vocabSize: 300 });
    assert.deepEqual(tokenizerJson.model.merges, ['x y']);
  });

  it('stops early when no pair is frequent enough', () => {
    const { merges } = trainByteLevelBpe(['one six'], { vocabSize: 400, minFrequency: 2 });
    assert.equal(merges, 0);
    const again = trainByteLevelBpe(['one six'], { vocabSize: 400, minFrequency: 1 });
    assert.ok(again.merges > 0);
  });

  it('is deterministic', () => {
    const a = trainByteLevelBpe(corpus.slice(0, 200), { vocabSize: 400 });
    const b = trainByteLevelBpe(corpus.slice(0, 200), { vocabSize: 400 });
    assert.deepEqual(a, b);
  });

  it('learns 1,000 merges on a few MB quickly', () => {
    const docs = babble(1, 2_000_000);
    const start = performance.now();
    const trainer = new ByteLevelBpeTrainer({ vocabSize: 1259 });
    for (const doc of docs) trainer.feed(doc);
    const { merges } = trainer.train();
    const seconds = (performance.now() - start) / 1000;
    assert.equal(merges, 1000);
    assert.ok(seconds < 30, `took ${seconds.toFixed(1)} s`);
  });

  it('rejects bad options and input', () => {
    assert.throws(() => new ByteLevelBpeTrainer({ vocabSize: 100 }), BpeTrainingError);
    assert.throws(() => new ByteLevelBpeTrainer({ vocabSize: 300.5 }), /integer of at least 259/);
    assert.throws(() => new ByteLevelBpeTrainer({ vocabSize: 300, minFrequency: 0 }), /minFrequency/);
    assert.throws(() => new ByteLevelBpeTrainer({ vocabSize: 300 }).feed(42 as unknown as string), /must be a string/);
  });
});
