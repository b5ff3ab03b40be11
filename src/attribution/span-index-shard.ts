/**
 * Searches in one shard of a span index: binary searches over its suffix array that read SA
 * entries and suffix tokens on demand (span-index-pages.ts). Patterns are Int32Arrays in which
 * tokens outside the vocabulary are -1, which matches nothing.
 */
import { SpanIndexError } from './span-index-format.ts';
import { cachedAt, type Int32Source } from './span-index-pages.ts';

/** Where an occurrence is: document number, position in it, and position in the corpus. */
export interface Occurrence {
  document: number;
  offset: number;
  position: number;
}

export class ShardSearch {
  readonly tokens: Int32Source;
  readonly sa: Int32Source;
  /** Per document: first position in `tokens`, first position in the corpus. */
  readonly docs: Int32Source;
  /** bucketStart[c] .. bucketStart[c + 1]: the SA range of the suffixes starting with token c. */
  readonly bucketStart: Int32Array;
  readonly firstDocument: number;
  readonly documents: number;
  readonly name: string;

  constructor(parts: { tokens: Int32Source; sa: Int32Source; docs: Int32Source; bucketStart: Int32Array; firstDocument: number; documents: number; name: string }) {
    this.tokens = parts.tokens;
    this.sa = parts.sa;
    this.docs = parts.docs;
    this.bucketStart = parts.bucketStart;
    this.firstDocument = parts.firstDocument;
    this.documents = parts.documents;
    this.name = parts.name;
  }

  get saLength(): number {
    return this.sa.length;
  }

  private corruptEntry(x: number, p: number): SpanIndexError {
    return new SpanIndexError('span_index_corrupt', `${this.name}: suffix array entry ${x} is ${p}, outside the shard's ${this.tokens.length} tokens (corrupt index)`);
  }

  private async suffix(x: number): Promise<number> {
    const k = this.sa.locate(x);
    const p = k >= 0 ? this.sa.buffer[k]! : await this.sa.load(x);
    if (p < 0 || p >= this.tokens.length) throw this.corruptEntry(x, p);
    return p;
  }

  /**
   * Compares pattern[from + d, from + len) with the suffix at p from depth d (the first d tokens
   * are known equal), over cached tokens only. Returns 2 × the common prefix length, + 1 when the
   * suffix is the greater at the first difference; or -(d + 1) when the token at depth d must be
   * read first. The suffix always differs before the shard ends: every document is followed by a
   * separator, which no pattern token equals.
   */
  private compareCached(p: number, pattern: Int32Array, from: number, len: number, d: number): number {
    const tokens = this.tokens;
    const buffer = tokens.buffer;
    while (d < len) {
      const i = p + d;
      let k = tokens.locate(i);
      if (k < 0) return -(d + 1);
      for (const stop = Math.min(len, d + tokens.runLength(i)); d < stop; d++, k++) {
        const c = buffer[k]!, q = pattern[from + d]!;
        if (c !== q) return 2 * d + (c > q ? 1 : 0);
      }
    }
    return 2 * len;
  }

  /** {@link compareCached}, reading the tokens it lacks (each read settles at least one token). */
  private async compare(p: number, pattern: Int32Array, from: number, len: number, d: number): Promise<number> {
    let r = this.compareCached(p, pattern, from, len, d);
    while (r < 0) {
      const depth = -r - 1;
      const c = await this.tokens.load(p + depth), q = pattern[from + depth]!;
      if (c !== q) return 2 * depth + (c > q ? 1 : 0);
      r = this.compareCached(p, pattern, from, len, depth + 1);
    }
    return r;
  }

  /**
   * One probe of a binary search: the SA entry at x compared with the pattern from depth d.
   * Synchronous when everything it needs is cached; else a promise.
   */
  private probe(x: number, pattern: Int32Array, from: number, len: number, d: number): number | Promise<number> {
    const k = this.sa.locate(x);
    if (k < 0) return this.suffix(x).then((q) => this.compare(q, pattern, from, len, d));
    const p = this.sa.buffer[k]!;
    if (p < 0 || p >= this.tokens.length) throw this.corruptEntry(x, p);
    const r = this.compareCached(p, pattern, from, len, d);
    return r >= 0 ? r : this.compare(p, pattern, from, len, -r - 1);
  }

  /**
   * The first SA index in [lo, hi) whose suffix's first `len` tokens are ≥ (`upper`: >)
   * pattern[from, from + len), given that every suffix there starts with its first `depth` tokens.
   * Binary search skipping the prefix shared with both ends (Manber & Myers' mlr).
   */
  private async bound(pattern: Int32Array, from: number, len: number, lo: number, hi: number, depth: number, upper: boolean): Promise<number> {
    let lcpLo = depth, lcpHi = depth;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let r = this.probe(mid, pattern, from, len, Math.min(lcpLo, lcpHi));
      if (typeof r !== 'number') r = await r;
      const lcp = r >>> 1;
      if ((lcp === len && upper) || (lcp < len && (r & 1) === 0)) {
        lo = mid + 1;
        lcpLo = lcp;
      } else {
        hi = mid;
        lcpHi = lcp;
      }
    }
    return lo;
  }

  /**
   * The SA range [lo, hi) of the suffixes starting with pattern[from, from + len).
   *
   * @example
   * const [lo, hi] = await shard.range(pattern, 0, pattern.length); // hi - lo occurrences
   */
  async range(pattern: Int32Array, from: number, len: number): Promise<[number, number]> {
    if (len === 0) return [0, this.saLength];
    const c = pattern[from]!;
    if (c < 0 || c + 1 >= this.bucketStart.length) return [0, 0];
    const blo = this.bucketStart[c]!, bhi = this.bucketStart[c + 1]!;
    if (len === 1 || blo === bhi) return [blo, bhi];
    const lo = await this.bound(pattern, from, len, blo, bhi, 1, false);
    const hi = await this.bound(pattern, from, len, lo, bhi, 1, true);
    return [lo, hi];
  }

  /**
   * The length of the longest prefix of pattern[from, end) that occurs in the shard: one binary
   * search for the whole rest of the pattern within the bucket of its first token; the longest
   * match is with one of the two suffixes around where the pattern would sort.
   *
   * @example
   * const longest = await shard.longestPrefix(pattern, 3, pattern.length);
   */
  async longestPrefix(pattern: Int32Array, from: number, end: number): Promise<number> {
    const len = end - from;
    if (len <= 0) return 0;
    const c = pattern[from]!;
    if (c < 0 || c + 1 >= this.bucketStart.length) return 0;
    let lo = this.bucketStart[c]!, hi = this.bucketStart[c + 1]!;
    if (lo === hi) return 0;
    // The bucket's bounds stand for neighbours sharing the first token (a lower bound).
    let lcpLo = 1, lcpHi = 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      let r = this.probe(mid, pattern, from, len, Math.min(lcpLo, lcpHi));
      if (typeof r !== 'number') r = await r;
      const lcp = r >>> 1;
      if (lcp === len) return len;
      if ((r & 1) === 0) {
        lo = mid + 1;
        lcpLo = lcp;
      } else {
        hi = mid;
        lcpHi = lcp;
      }
    }
    return Math.max(lcpLo, lcpHi);
  }

  /**
   * The document and positions of the suffix at SA index x.
   *
   * @example
   * const { document, offset } = await shard.locate(lo);
   */
  async locate(x: number): Promise<Occurrence> {
    const p = await this.suffix(x);
    const docs = this.docs;
    let lo = 0, hi = this.documents - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      let start = cachedAt(docs, 2 * mid);
      if (start === undefined) start = await docs.load(2 * mid);
      if (start <= p) lo = mid;
      else hi = mid - 1;
    }
    let start = cachedAt(docs, 2 * lo);
    if (start === undefined) start = await docs.load(2 * lo);
    let corpusStart = cachedAt(docs, 2 * lo + 1);
    if (corpusStart === undefined) corpusStart = await docs.load(2 * lo + 1);
    if (start > p) throw new SpanIndexError('span_index_corrupt', `${this.name}: no document holds position ${p} (corrupt index)`);
    return { document: this.firstDocument + lo, offset: p - start, position: corpusStart + p - start };
  }
}
