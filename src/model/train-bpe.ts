import type { TokenizerConfigJson, TokenizerJson } from './tokenizer.ts';

/**
 * A byte-level BPE trainer in the style of GPT-2: text is split by GPT-2's pre-tokenizer regex,
 * each piece is written as its UTF-8 bytes mapped to printable characters, and merges are learned
 * greedily by pair frequency over word counts (with incremental pair counts, so the text is read
 * once). The result is a Hugging Face `tokenizer.json` that `Tokenizer.fromJson` and the Rust
 * `tokenizers` library load.
 */

/** The end-of-text token: separates documents; the tokenizer's bos and eos. */
export const END_OF_TEXT = '<|endoftext|>';
/** The padding token. */
export const PAD = '<|pad|>';
/**
 * SentencePiece's word-boundary mark, kept as a (non-special) token: llama.cpp's detokeniser needs
 * it in a byte-level vocabulary, or decoded text shows it.
 */
export const SPACE_MARK = '\u2581';

/** The tokens every trained vocabulary starts with, in id order. */
const ADDED: ReadonlyArray<{ content: string; special: boolean }> = [
  { content: END_OF_TEXT, special: true },
  { content: PAD, special: true },
  { content: SPACE_MARK, special: false },
];

/** GPT-2's pre-tokenizer: contractions, letters, digits, other symbols, each with one leading space. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const ADDED_SPLIT = new RegExp(ADDED.map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'u');

/** Trainer options. */
export interface TrainBpeOptions {
  /** Size of the vocabulary to reach: 3 added tokens + 256 bytes + merges. At least 259. */
  vocabSize: number;
  /** Pairs seen fewer times than this are not merged (training may then stop short of vocabSize). Default 2. */
  minFrequency?: number;
}

/** What training produces. */
export interface TrainedBpe {
  tokenizerJson: TokenizerJson;
  tokenizerConfig: TokenizerConfigJson;
  /** Number of merges learned. */
  merges: number;
}

/** The options or the input of a training run are not usable. */
export class BpeTrainingError extends Error {
  override name = 'BpeTrainingError';
}

/**
 * GPT-2's byte → character map: printable Latin-1 bytes stand for themselves, the others are
 * moved to U+0100 and above, so every byte string is a string of visible characters.
 *
 * @example
 * byteToUnicode()[32]; // 'Ġ' (a space)
 */
export function byteToUnicode(): string[] {
  const map = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    map[b] = String.fromCharCode(printable ? b : next++);
  }
  return map;
}

/**
 * Accumulates word counts from text fed in pieces, then learns the merges.
 *
 * @example
 * const trainer = new ByteLevelBpeTrainer({ vocabSize: 1024 });
 * for (const doc of docs) trainer.feed(doc);
 * const { tokenizerJson } = trainer.train();
 */
export class ByteLevelBpeTrainer {
  readonly #vocabSize: number;
  readonly #minFrequency: number;
  readonly #counts = new Map<string, number>();

  constructor(options: TrainBpeOptions) {
    const minVocab = ADDED.length + 256;
    if (!Number.isInteger(options.vocabSize) || options.vocabSize < minVocab) {
      throw new BpeTrainingError(`vocabSize must be an integer of at least ${minVocab} (added tokens + 256 bytes), got ${String(options.vocabSize)}`);
    }
    if (options.vocabSize > 1 << 20) throw new BpeTrainingError(`vocabSize must be at most ${1 << 20}, got ${options.vocabSize}`);
    const minFrequency = options.minFrequency ?? 2;
    if (!Number.isInteger(minFrequency) || minFrequency < 1) throw new BpeTrainingError(`minFrequency must be a positive integer, got ${String(minFrequency)}`);
    this.#vocabSize = options.vocabSize;
    this.#minFrequency = minFrequency;
  }

  /**
   * Counts the words of `text`. Added tokens in the text (such as `<|endoftext|>` between
   * documents) separate words and are not counted.
   *
   * @example
   * trainer.feed('Once upon a time<|endoftext|>The end.');
   */
  feed(text: string): void {
    if (typeof text !== 'string') throw new BpeTrainingError('feed: text must be a string');
    const counts = this.#counts;
    for (const section of text.split(ADDED_SPLIT)) {
      for (const match of section.matchAll(GPT2_SPLIT)) {
        const word = match[0];
        counts.set(word, (counts.get(word) ?? 0) + 1);
      }
    }
  }

  /**
   * Learns merges until the vocabulary reaches `vocabSize` or no pair is frequent enough, and
   * returns the tokenizer files.
   *
   * @example
   * const { tokenizerJson, tokenizerConfig } = trainer.train();
   */
  train(): TrainedBpe {
    const byteChars = byteToUnicode();
    // Internal symbol ids: 0..255 are bytes, later ids are merged tokens.
    const symbols: string[] = byteChars.slice();
    const symbolId = new Map<string, number>(symbols.map((s, i) => [s, i]));
    const encoder = new TextEncoder();
    const words: Int32Array[] = [];
    const freqs: number[] = [];
    for (const [word, count] of this.#counts) {
      const bytes = encoder.encode(word);
      if (bytes.length < 2) continue;
      words.push(Int32Array.from(bytes));
      freqs.push(count);
    }

    const pairCounts = new Map<number, number>();
    const where = new Map<number, Set<number>>();
    for (let w = 0; w < words.length; w++) {
      const seq = words[w]!;
      const f = freqs[w]!;
      for (let i = 0; i + 1 < seq.length; i++) {
        const key = pairKey(seq[i]!, seq[i + 1]!);
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + f);
        let set = where.get(key);
        if (set === undefined) where.set(key, (set = new Set()));
        set.add(w);
      }
    }
    const heap = new PairHeap();
    for (const [key, count] of pairCounts) heap.push(count, key);

    const merges: string[] = [];
    const target = this.#vocabSize - ADDED.length;
    while (symbols.length < target && heap.size > 0) {
      const top = heap.pop();
      const current = pairCounts.get(top.key) ?? 0;
      if (current !== top.count) {
        if (current > 0) heap.push(current, top.key);
        continue;
      }
      if (current < this.#minFrequency) break;
      const a = Math.floor(top.key / PAIR_BASE);
      const b = top.key % PAIR_BASE;
      const merged = symbols[a]! + symbols[b]!;
      let newId = symbolId.get(merged);
      if (newId === undefined) {
        newId = symbols.length;
        symbols.push(merged);
        symbolId.set(merged, newId);
      }
      merges.push(`${symbols[a]} ${symbols[b]}`);
      const touched = new Set<number>();
      for (const w of where.get(top.key) ?? []) {
        const seq = words[w]!;
        const merged = mergeWord(seq, a, b, newId);
        if (merged === seq) continue;
        const f = freqs[w]!;
        for (let i = 0; i + 1 < seq.length; i++) {
          const key = pairKey(seq[i]!, seq[i + 1]!);
          pairCounts.set(key, pairCounts.get(key)! - f);
        }
        for (let i = 0; i + 1 < merged.length; i++) {
          const x = merged[i]!;
          const y = merged[i + 1]!;
          const key = pairKey(x, y);
          pairCounts.set(key, (pairCounts.get(key) ?? 0) + f);
          if (x === newId || y === newId) {
            touched.add(key);
            let set = where.get(key);
            if (set === undefined) where.set(key, (set = new Set()));
            set.add(w);
          }
        }
        words[w] = merged;
      }
      where.delete(top.key);
      for (const key of touched) {
        const count = pairCounts.get(key)!;
        if (count > 0) heap.push(count, key);
      }
    }

    const vocab: Record<string, number> = {};
    const addedTokens = ADDED.map((t, id) => {
      vocab[t.content] = id;
      return { id, content: t.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t.special };
    });
    symbols.forEach((s, i) => {
      vocab[s] = ADDED.length + i;
    });
    const tokenizerJson: TokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokens,
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges,
      },
    };
    const tokenizerConfig: TokenizerConfigJson = {
      tokenizer_class: 'PreTrainedTokenizerFast',
      bos_token: END_OF_TEXT,
      eos_token: END_OF_TEXT,
      pad_token: PAD,
      unk_token: null,
      add_prefix_space: false,
      clean_up_tokenization_spaces: false,
    };
    return { tokenizerJson, tokenizerConfig, merges: merges.length };
  }
}

/**
 * Trains a byte-level BPE tokenizer on texts (documents, or chunks of a corpus).
 *
 * @example
 * const { tokenizerJson, tokenizerConfig } = trainByteLevelBpe(['the cat sat', 'the dog ran'], { vocabSize: 300 });
 * const tok = Tokenizer.fromJson(tokenizerJson, tokenizerConfig);
 */
export function trainByteLevelBpe(texts: Iterable<string>, options: TrainBpeOptions): TrainedBpe {
  const trainer = new ByteLevelBpeTrainer(options);
  for (const text of texts) trainer.feed(text);
  return trainer.train();
}

const PAIR_BASE = 1 << 20;

function pairKey(a: number, b: number): number {
  return a * PAIR_BASE + b;
}

/** `seq` with each non-overlapping (a, b), left to right, replaced by `id`; `seq` itself when there is none. */
function mergeWord(seq: Int32Array, a: number, b: number, id: number): Int32Array {
  let out: Int32Array | undefined;
  let n = 0;
  for (let i = 0; i < seq.length; i++) {
    if (i + 1 < seq.length && seq[i] === a && seq[i + 1] === b) {
      if (out === undefined) {
        out = new Int32Array(seq.length - 1);
        out.set(seq.subarray(0, i));
        n = i;
      }
      out[n++] = id;
      i++;
    } else if (out !== undefined) {
      out[n++] = seq[i]!;
    }
  }
  return out === undefined ? seq : out.subarray(0, n);
}

/** A max-heap of (count, pair key); ties go to the smaller key, so training is deterministic. */
class PairHeap {
  #counts: number[] = [];
  #keys: number[] = [];

  get size(): number {
    return this.#counts.length;
  }

  push(count: number, key: number): void {
    const counts = this.#counts;
    const keys = this.#keys;
    let i = counts.length;
    counts.push(count);
    keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const counts = this.#counts;
    const keys = this.#keys;
    const top = { count: counts[0]!, key: keys[0]! };
    const lastCount = counts.pop()!;
    const lastKey = keys.pop()!;
    if (counts.length > 0) {
      counts[0] = lastCount;
      keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < counts.length && this.#before(l, best)) best = l;
        if (r < counts.length && this.#before(r, best)) best = r;
        if (best === i) break;
        this.#swap(i, best);
        i = best;
      }
    }
    return top;
  }

  #before(i: number, j: number): boolean {
    const ci = this.#counts[i]!;
    const cj = this.#counts[j]!;
    return ci > cj || (ci === cj && this.#keys[i]! < this.#keys[j]!);
  }

  #swap(i: number, j: number): void {
    const counts = this.#counts;
    const keys = this.#keys;
    [counts[i], counts[j]] = [counts[j]!, counts[i]!];
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
}
