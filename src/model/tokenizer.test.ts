import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TokenIdError, Tokenizer, TokenizerLoadError, type TokenizerJson } from './tokenizer.ts';
import { trainByteLevelBpe } from './train-bpe.ts';

// Expected ids in this file were produced by the Rust `tokenizers` library (0.22.2) on the same
// tokenizer.json objects.

const TRAIN = Array.from({ length: 20 }, () => "the cat sat on the mat. the dog ran to the cat! it's 2024 and 12345 cats don't nap.\n");
const trained = trainByteLevelBpe(TRAIN, { vocabSize: 300 });

/** Llama-3's pre-tokenizer (a regex split, then bytes) on the trained vocabulary. */
function llama3Style(): TokenizerJson {
  const json = structuredClone(trained.tokenizerJson);
  json.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [
      {
        type: 'Split',
        pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
        behavior: 'Isolated',
        invert: false,
      },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  return json;
}

/**
 * A small SentencePiece-style BPE with byte fallback, laid out like Llama-2's tokenizer.json
 * ('prepend-normalizer') or like newer Llama/Mistral conversions ('metaspace').
 */
function llama2Style(variant: 'prepend-normalizer' | 'metaspace'): TokenizerJson {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  for (const c of ['▁', ...'abcdefghijklmnopqrstuvwxyz', 'T', 'H', '.', ',', '!', '?', "'", '0', '1', '2']) vocab[c] = Object.keys(vocab).length;
  const merges: string[] = [];
  const pairs = 'þ t,h e,þt he,þ c,a t,þc at,þ s,þs at,þ o,þo n,þ m,þm at,þ d,o g,þd og,i n,þ H,e l,l o,þH el,þHel lo';
  for (const pair of pairs.replaceAll('þ', '▁').split(',')) {
    merges.push(pair);
    const merged = pair.replace(' ', '');
    vocab[merged] ??= Object.keys(vocab).length;
  }
  const added_tokens = ['<unk>', '<s>', '</s>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const common = {
    version: '1.0',
    added_tokens,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
  };
  return variant === 'prepend-normalizer'
    ? { ...common, normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }, pre_tokenizer: null }
    : { ...common, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } };
}

const LLAMA2_CONFIG = { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: null };

/** The oracle for pieceOffsets: token i ends where decode(ids[0..i]) stops agreeing with the whole text. */
function exactOffsets(tok: Tokenizer, ids: number[]): Array<[number, number]> {
  const full = tok.decode(ids);
  const out: Array<[number, number]> = [];
  let prev = 0;
  for (let i = 0; i < ids.length; i++) {
    const prefix = tok.decode(ids.slice(0, i + 1));
    let lcp = 0;
    while (lcp < prefix.length && lcp < full.length && prefix[lcp] === full[lcp]) lcp++;
    if (lcp > 0 && lcp < full.length && /[\uD800-\uDBFF]/.test(full[lcp - 1]!)) lcp--;
    const end = i === ids.length - 1 ? full.length : Math.max(prev, lcp);
    out.push([prev, end]);
    prev = end;
  }
  return out;
}

describe('Tokenizer: byte-level BPE', () => {
  const tok = Tokenizer.fromJson(trained.tokenizerJson, trained.tokenizerConfig);

  it('encodes like the Rust library (GPT-2 pre-tokenizer)', () => {
    assert.deepEqual(tok.encode('the cat sat on the mat.'), [284, 264, 295, 276, 263, 292, 49]);
    assert.deepEqual(tok.encode("It'S 1234567 cats!\n\nok"), [76, 119, 42, 86, 297, 57, 58, 286, 36, 13, 13, 114, 110]);
  });

  it('encodes like the Rust library (Llama-3 regex split)', () => {
    const l3 = Tokenizer.fromJson(llama3Style());
    assert.deepEqual(l3.encode("It'S 1234567 cats!\n\nok"), [76, 119, 42, 86, 35, 52, 280, 281, 57, 58, 286, 36, 13, 13, 114, 110]);
  });

  it('round-trips any unicode text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        assert.equal(tok.decode(tok.encode(text)), text);
      }),
      { numRuns: 300 },
    );
  });

  it('knows its special tokens, with or without a config', () => {
    for (const t of [tok, Tokenizer.fromJson(trained.tokenizerJson)]) {
      assert.equal(t.bosId, 0);
      assert.equal(t.eosId, 0);
      assert.equal(t.padId, 1);
      assert.equal(t.idOf('<|endoftext|>'), 0);
      assert.equal(t.tokenOf(1), '<|pad|>');
      assert.ok(t.vocabSize > 259 && t.vocabSize <= 300);
    }
    assert.equal(tok.idOf('no such token'), undefined);
    assert.equal(tok.tokenOf(tok.vocabSize), undefined);
    assert.equal(tok.tokenOf(-1), undefined);
  });

  it('treats <|endoftext|> in text as the special token, and can skip it when decoding', () => {
    const ids = tok.encode('the cat<|endoftext|>the dog');
    assert.ok(ids.includes(0));
    assert.equal(tok.decode(ids), 'the cat<|endoftext|>the dog');
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'the catthe dog');
  });

  it('decodes an empty list to an empty string and rejects unknown ids', () => {
    assert.equal(tok.decode([]), '');
    assert.throws(() => tok.decode([5, tok.vocabSize]), TokenIdError);
    assert.throws(() => tok.decode([1.5]), TokenIdError);
    assert.throws(() => tok.pieceOffsets([-1]), /position 0/);
  });

  it('exports its tokenizer.json and config, which load back to the same tokenizer', () => {
    const json = tok.toJson();
    json.model.type = 'changed';
    assert.equal(tok.toJson().model.type, 'BPE');
    const again = Tokenizer.fromJson(tok.toJson(), tok.toConfig());
    assert.deepEqual(again.encode('the dog ran'), tok.encode('the dog ran'));
    const bare = Tokenizer.fromJson(trained.tokenizerJson).toConfig();
    assert.equal(bare.bos_token, '<|endoftext|>');
    assert.equal(bare.pad_token, '<|pad|>');
  });

  it('gives each token its own text as offsets', () => {
    const ids = tok.encode('the cat sat.');
    const text = tok.decode(ids);
    assert.deepEqual(
      tok.pieceOffsets(ids).map(([s, e]) => text.slice(s, e)),
      ids.map((id) => tok.decode([id])),
    );
  });

  it('gives a character split over byte tokens to the token that completes it', () => {
    // é is two bytes, 🙂 four; the trained vocabulary has no merges for them.
    const ids = tok.encode('aé🙂');
    assert.equal(ids.length, 1 + 2 + 4);
    const text = tok.decode(ids);
    assert.deepEqual(tok.pieceOffsets(ids), [[0, 1], [1, 1], [1, 2], [2, 2], [2, 2], [2, 2], [2, 4]]);
    assert.equal(text.slice(2, 4), '🙂');
  });

  it('pieceOffsets agrees with exact prefix decoding on random ids', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: tok.vocabSize - 1 }), { maxLength: 30 }), fc.boolean(), (ids, skip) => {
        const offsets = tok.pieceOffsets(ids, { skipSpecialTokens: skip });
        const full = tok.decode(ids, { skipSpecialTokens: skip });
        let prev = 0;
        for (const [s, e] of offsets) {
          assert.equal(s, prev);
          assert.ok(e >= s);
          prev = e;
        }
        assert.equal(prev, full.length);
        if (!skip) assert.deepEqual(offsets, exactOffsets(tok, ids));
      }),
      { numRuns: 300 },
    );
  });

  it('pieceOffsets covers the text when decoding cleans up spaces before punctuation', () => {
    const cleaning = Tokenizer.fromJson(trained.tokenizerJson, { ...trained.tokenizerConfig, clean_up_tokenization_spaces: true });
    const ids = cleaning.encode('the cat . the dog , ok');
    const text = cleaning.decode(ids);
    assert.equal(text, 'the cat. the dog, ok');
    const offsets = cleaning.pieceOffsets(ids);
    assert.equal(offsets.length, ids.length);
    assert.equal(offsets.at(-1)![1], text.length);
    assert.equal(offsets.map(([s, e]) => text.slice(s, e)).join(''), text);
  });
});

describe('Tokenizer: SentencePiece-style BPE with byte fallback', () => {
  for (const variant of ['prepend-normalizer', 'metaspace'] as const) {
    const tok = Tokenizer.fromJson(llama2Style(variant), LLAMA2_CONFIG);

    it(`encodes like the Rust library, adding <s> (${variant})`, () => {
      assert.deepEqual(tok.encode('Hello the cat sat on the mat.'), [1, 316, 298, 301, 303, 305, 298, 307, 288]);
      assert.deepEqual(tok.encode('Hello the cat sat on the mat.', { addSpecialTokens: false }), [316, 298, 301, 303, 305, 298, 307, 288]);
      const ids = tok.encode('Hello the cat sat on the mat.');
      assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'Hello the cat sat on the mat.');
      assert.equal(tok.decode(ids), '<s> Hello the cat sat on the mat.');
    });

    it(`falls back to bytes for characters not in the vocabulary (${variant})`, () => {
      const ids = tok.encode(' the  dog é🙂');
      const expected = variant === 'prepend-normalizer' ? [1, 259, 298, 259, 310, 259, 198, 172, 243, 162, 156, 133] : [1, 298, 259, 310, 259, 198, 172, 243, 162, 156, 133];
      assert.deepEqual(ids, expected);
      assert.equal(tok.decode(ids, { skipSpecialTokens: true }), variant === 'prepend-normalizer' ? ' the  dog é🙂' : 'the  dog é🙂');
    });

    it(`reads bos/eos/pad from the config (${variant})`, () => {
      assert.equal(tok.bosId, 1);
      assert.equal(tok.eosId, 2);
      assert.equal(tok.padId, undefined);
      const guessed = Tokenizer.fromJson(llama2Style(variant));
      assert.equal(guessed.bosId, 1);
      assert.equal(guessed.eosId, 2);
    });

    it(`gives word pieces and byte-fallback characters offsets (${variant})`, () => {
      const ids = tok.encode('Hello cat é', { addSpecialTokens: false });
      const text = tok.decode(ids);
      assert.equal(text, 'Hello cat é');
      const pieces = tok.pieceOffsets(ids).map(([s, e]) => text.slice(s, e));
      assert.deepEqual(pieces, ['Hello', ' cat', ' ', '', 'é']);
    });

    it(`pieceOffsets agrees with exact prefix decoding on random ids (${variant})`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: tok.vocabSize - 1 }), { maxLength: 25 }), (ids) => {
          assert.deepEqual(tok.pieceOffsets(ids), exactOffsets(tok, ids));
        }),
        { numRuns: 300 },
      );
    });
  }
});

describe('Tokenizer.fromDir and bad input', () => {
  it('reads tokenizer.json, tokenizer_config.json and special_tokens_map.json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tok-'));
    try {
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(llama2Style('metaspace')));
      // Older files write special tokens as objects; the map fills what the config leaves out.
      await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: { content: '<s>', lstrip: false }, eos_token: '</s>' }));
      await writeFile(join(dir, 'special_tokens_map.json'), JSON.stringify({ pad_token: '<unk>', bos_token: '</s>' }));
      const tok = await Tokenizer.fromDir(dir);
      assert.equal(tok.bosId, 1);
      assert.equal(tok.eosId, 2);
      assert.equal(tok.padId, 0);
      assert.deepEqual(tok.encode('the cat').slice(0, 1), [1]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a folder or a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tok-'));
    try {
      await assert.rejects(Tokenizer.fromDir(dir), (err: Error) => err instanceof TokenizerLoadError && /no tokenizer\.json/.test(err.message));
      await writeFile(join(dir, 'tokenizer.json'), '{ not json');
      await assert.rejects(Tokenizer.fromDir(dir), /not valid JSON/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.throws(() => Tokenizer.fromJson([]), TokenizerLoadError);
    assert.throws(() => Tokenizer.fromJson({ version: '1.0' }), /no "model"/);
    assert.throws(() => Tokenizer.fromJson({ model: { type: 'Nope' } }), (err: Error) => err instanceof TokenizerLoadError && /Nope/.test(err.message));
    assert.throws(() => Tokenizer.fromJson(trained.tokenizerJson, 'config'), /tokenizer_config\.json must be a JSON object/);
  });
});
