import { words } from '../util/words.ts';

/**
 * The words of a model's training documents (one per training example), for the lexical parts of
 * attribution: how rare a word is (its inverse document frequency), BM25 relevance of a document
 * to an inference's prompt and output, and which documents hold a word.
 *
 * Document frequencies count units, not documents: with contribution groups as the units, a
 * contribution and its copies count once, so padding a datanet with copies changes no word's
 * rarity. Built in memory from the documents' texts; the same texts always give the same index.
 */
export class LexicalIndex {
  /** Documents (training examples; excluded ones are empty). */
  readonly documents: number;
  /** Units (documents, or groups of them) that hold at least one word. */
  readonly liveDocuments: number;
  readonly averageLength: number;
  private readonly df = new Map<string, number>();
  private readonly postings = new Map<string, number[]>();
  private readonly termFrequencies: Array<Map<string, number>>;
  private readonly lengths: Uint32Array;

  /** Use {@link buildLexicalIndex}. */
  constructor(texts: ReadonlyArray<string | null>, unitOf: (d: number) => number = (d) => d) {
    this.documents = texts.length;
    this.lengths = new Uint32Array(texts.length);
    const unitsWith = new Map<string, Set<number>>();
    const units = new Set<number>();
    this.termFrequencies = texts.map((text, d) => {
      const tf = new Map<string, number>();
      if (text === null) return tf;
      for (const w of words(text)) tf.set(w.word, (tf.get(w.word) ?? 0) + 1);
      this.lengths[d] = [...tf.values()].reduce((a, b) => a + b, 0);
      if (this.lengths[d] > 0) units.add(unitOf(d));
      for (const w of tf.keys()) {
        let u = unitsWith.get(w);
        if (!u) unitsWith.set(w, (u = new Set()));
        u.add(unitOf(d));
        let p = this.postings.get(w);
        if (!p) this.postings.set(w, (p = []));
        p.push(d);
      }
      return tf;
    });
    for (const [w, u] of unitsWith) this.df.set(w, u.size);
    let live = 0, total = 0;
    for (const len of this.lengths) if (len > 0) (live++, (total += len));
    this.liveDocuments = units.size;
    this.averageLength = live > 0 ? total / live : 0;
  }

  /** Units (documents, or groups of them) holding `word` (lower-case). */
  documentFrequency(word: string): number {
    return this.df.get(word) ?? 0;
  }

  /**
   * BM25's inverse document frequency, ln(1 + (N − df + ½)/(df + ½)): about 0 for a word in every
   * document (template words), ln(2N) for a word in none, ~ln N for a word in one.
   */
  idf(word: string): number {
    const df = this.documentFrequency(word), n = this.liveDocuments;
    return Math.log1p((n - df + 0.5) / (df + 0.5));
  }

  /** The documents holding `word`, ascending. */
  documentsWith(word: string): readonly number[] {
    return this.postings.get(word) ?? [];
  }

  /**
   * The documents holding at least one of `query`'s words, leaving out words found in more than
   * half the units (they rank nothing), ascending.
   */
  candidates(query: Iterable<string>): number[] {
    const out = new Set<number>();
    for (const w of query) {
      const p = this.postings.get(w);
      if (p && this.documentFrequency(w) * 2 <= this.liveDocuments) for (const d of p) out.add(d);
    }
    return [...out].sort((a, b) => a - b);
  }

  /** Whether document `d` holds `word`. */
  has(d: number, word: string): boolean {
    return this.termFrequencies[d]?.has(word) ?? false;
  }

  /** Document `d`'s distinct words. */
  wordsOf(d: number): IterableIterator<string> {
    return this.termFrequencies[d]!.keys();
  }

  /**
   * BM25 (k1 1.2, b 0.75) of document `d` for a query's distinct words.
   *
   * @example
   * index.bm25(17, new Set(['zorvania', 'capital']));
   */
  bm25(d: number, query: ReadonlySet<string>, k1 = 1.2, b = 0.75): number {
    const tf = this.termFrequencies[d];
    if (!tf || this.lengths[d] === 0) return 0;
    const norm = k1 * (1 - b + (b * this.lengths[d]!) / this.averageLength);
    let s = 0;
    for (const w of query) {
      const f = tf.get(w);
      if (f) s += (this.idf(w) * f * (k1 + 1)) / (f + norm);
    }
    return s;
  }
}

/**
 * Indexes documents' words; `null` documents (held-out examples) hold none. Frequencies count
 * `unitOf(document)` once per word (default: each document is its own unit).
 *
 * @example
 * const lexical = buildLexicalIndex(texts, (d) => groups.representative[d]);
 */
export function buildLexicalIndex(texts: ReadonlyArray<string | null>, unitOf?: (d: number) => number): LexicalIndex {
  return new LexicalIndex(texts, unitOf);
}
