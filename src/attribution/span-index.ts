/**
 * The span index of Proof of Attribution: which spans of a model's output occur verbatim in its
 * training tokens, how often, and in which documents (training examples). Built by
 * `buildSpanIndex` (span-index-build.ts) into a folder of flat files (span-index-format.ts),
 * sharded at document boundaries, each shard with its own suffix array (SA-IS).
 *
 * Opening reads only the manifest and the per-shard unigram counts: queries binary-search the
 * suffix arrays on disk, reading SA entries and suffix tokens by pages through a bounded cache
 * (span-index-pages.ts), so an index larger than memory can be queried; shards up to
 * `loadShardsUpTo` bytes are read into memory instead. Results merge every shard. See
 * docs/decisions/0012-span-index.md.
 *
 * Document boundaries: every document is stored followed by a separator token (vocabSize) that
 * no query token equals, so a match can never run from one document into the next.
 */
import { createReadStream } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import {
  assertLittleEndian, bytesOf, MANIFEST_FILE, parseManifest, SpanIndexError, type SpanIndexFile, type SpanIndexManifest,
} from './span-index-format.ts';
import { MemoryInt32, PageCache, PagedInt32, type Int32Source } from './span-index-pages.ts';
import { ShardSearch, type Occurrence } from './span-index-shard.ts';
import { spanWeight } from './span-weight.ts';

export { buildSpanIndex, type BuildSpanIndexOptions } from './span-index-build.ts';
export { corpusHash, SpanIndexError, type SpanCorpus, type SpanIndexManifest } from './span-index-format.ts';
export type { Occurrence } from './span-index-shard.ts';
export { spanWeight } from './span-weight.ts';

export interface OpenSpanIndexOptions {
  /** Shards whose tokens and suffix array take at most this many bytes are read into memory (default 0: none). */
  loadShardsUpTo?: number;
  /** Page cache budget for the shards read from disk (default 64 MiB). */
  cacheBytes?: number;
  /** Page size, a power of two (default 4096). */
  pageBytes?: number;
  /** Searches in flight at once when counting the spans `maximalSpans` found and locating `occurrences`, so reads overlap (default 16); shards are always searched side by side. */
  concurrency?: number;
  /**
   * How pages missing from the cache are read: `'async'` (default) through the FileHandle, never
   * blocking the event loop; `'sync'`, a blocking pread on the spot: several times faster when the
   * files sit in the OS page cache, but a query then blocks the thread for its whole duration.
   */
  io?: 'async' | 'sync';
}

/** The longest prefix of `tokens[start..]` found in the corpus. */
export interface LongestMatch {
  /** Tokens matched (0: not even tokens[start] occurs). */
  length: number;
  /** Occurrences of that prefix in the corpus (0 when length is 0). */
  count: number;
}

export interface MaximalSpanOptions {
  /** Shortest span kept, in tokens (≥ 1). */
  minLength: number;
  /** The corpus' `commonTokenCount` most frequent tokens are common (ties by token id; default 0). */
  commonTokenCount?: number;
  /** Tokens occurring at least this many times in the corpus are common too (default: none). */
  commonTokenMinCount?: number;
  /**
   * Spans whose share of common tokens exceeds this are dropped. Default: only spans made
   * entirely of common tokens are dropped.
   */
  maxCommonTokenFraction?: number;
  /** Spans occurring more often than this in the corpus are dropped (default: no limit). */
  maxOccurrences?: number;
}

/** A span of the output, [start, end) in its token positions, found `count` times in the corpus. */
export interface Span {
  start: number;
  end: number;
  count: number;
}

export interface Occurrences {
  /** Every occurrence in the corpus. */
  count: number;
  /** Up to `limit` of them, spread evenly over the suffix-array range, sorted by position. */
  occurrences: Occurrence[];
}

export interface DocumentHits {
  /** Every occurrence in the corpus. */
  count: number;
  /** Whether every occurrence was materialised (count ≤ limit). */
  complete: boolean;
  /** Documents holding the materialised occurrences, by document number, with how many each holds. */
  documents: Array<{ document: number; occurrences: number }>;
}

/** Tokens as a search pattern: anything not a token id of the vocabulary becomes -1 (matches nothing). */
function toPattern(tokens: ArrayLike<number>, vocabSize: number): Int32Array {
  const out = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    out[i] = Number.isInteger(t) && t >= 0 && t < vocabSize ? t : -1;
  }
  return out;
}

const positiveLimit = (limit: number) => {
  if (!Number.isInteger(limit) || limit < 0) throw new SpanIndexError('invalid_query', `limit must be a non-negative integer, got ${limit}`);
  return limit;
};

/** An open span index. Safe for concurrent queries; `close` it when done. */
export class SpanIndex {
  readonly dir: string;
  readonly manifest: SpanIndexManifest;
  /** Tokens indexed (what span weights are relative to). */
  readonly totalTokens: number;
  /** Documents in the corpus (numbers 0 .. documents - 1), excluded ones included. */
  readonly documents: number;
  readonly vocabSize: number;
  private readonly shards: ShardSearch[];
  private readonly handles: FileHandle[];
  private readonly unigrams: Float64Array;
  private readonly concurrency: number;
  private commonCache: { key: string; flags: Uint8Array } | undefined;
  private closed = false;

  /** Use {@link openSpanIndex}. */
  constructor(parts: { dir: string; manifest: SpanIndexManifest; shards: ShardSearch[]; handles: FileHandle[]; unigrams: Float64Array; concurrency: number }) {
    this.dir = parts.dir;
    this.manifest = parts.manifest;
    this.totalTokens = parts.manifest.indexedTokens;
    this.documents = parts.manifest.documents;
    this.vocabSize = parts.manifest.vocabSize;
    this.shards = parts.shards;
    this.handles = parts.handles;
    this.unigrams = parts.unigrams;
    this.concurrency = parts.concurrency;
  }

  private check(): void {
    if (this.closed) throw new SpanIndexError('span_index_closed', `the span index at ${this.dir} is closed`);
  }

  /** Runs fn(0 .. n - 1), `concurrency` at a time. */
  private async forEach(n: number, fn: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < n) await fn(next++);
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, n) }, worker));
  }

  private async rangeCount(pattern: Int32Array, from: number, len: number): Promise<number> {
    let count = 0;
    for (const s of this.shards) {
      const [lo, hi] = await s.range(pattern, from, len);
      count += hi - lo;
    }
    return count;
  }

  /**
   * Occurrences of an n-gram in the corpus (within documents). An empty n-gram occurs at every
   * indexed token; one with a token outside the vocabulary, nowhere.
   *
   * @example
   * await index.count([464, 3290, 318]); // 12
   */
  async count(ngram: ArrayLike<number>): Promise<number> {
    this.check();
    const pattern = toPattern(ngram, this.vocabSize);
    return pattern.includes(-1) ? 0 : this.rangeCount(pattern, 0, pattern.length);
  }

  /**
   * The longest prefix of tokens[start..] that occurs in the corpus, and how often.
   *
   * @example
   * const { length, count } = await index.longestMatch(output, 10);
   */
  async longestMatch(tokens: ArrayLike<number>, start: number): Promise<LongestMatch> {
    this.check();
    if (!Number.isInteger(start) || start < 0 || start > tokens.length) throw new SpanIndexError('invalid_query', `start must be an integer in [0, ${tokens.length}], got ${start}`);
    const pattern = toPattern(tokens, this.vocabSize);
    const length = await this.longestAt(pattern, start, pattern.length);
    return { length, count: length === 0 ? 0 : await this.rangeCount(pattern, start, length) };
  }

  /** Per token: 1 when common under the options. */
  private commonTokens(o: MaximalSpanOptions): Uint8Array | undefined {
    const top = o.commonTokenCount ?? 0, min = o.commonTokenMinCount ?? Infinity;
    if (top === 0 && min === Infinity) return undefined;
    const key = `${top}/${min}`;
    if (this.commonCache?.key === key) return this.commonCache.flags;
    const flags = new Uint8Array(this.vocabSize);
    const u = this.unigrams;
    for (let t = 0; t < u.length; t++) if (u[t]! >= min) flags[t] = 1;
    if (top > 0) {
      const order = Array.from({ length: u.length }, (_, t) => t).sort((a, b) => u[b]! - u[a]! || a - b);
      for (let i = 0; i < Math.min(top, order.length); i++) flags[order[i]!] = 1;
    }
    this.commonCache = { key, flags };
    return flags;
  }

  /** The longest prefix of pattern[from, end) found in any shard (shards searched side by side). */
  private async longestAt(pattern: Int32Array, from: number, end: number): Promise<number> {
    const lengths = await Promise.all(this.shards.map((s) => s.longestPrefix(pattern, from, end)));
    return lengths.reduce((a, b) => Math.max(a, b), 0);
  }

  /**
   * The maximal matches of a pattern: [start, end) for every position whose longest match ends
   * past every earlier position's. Not every position is searched: after a match [i, e), the
   * positions j in (i, e] whose match reaches past e (where pattern[j, e + 1) occurs) form an
   * upward-closed set (a suffix of an occurring string occurs), so the next maximal match starts
   * at the least such j, found by binary search: ~log2(e - i) longest-match searches instead of
   * e - i (the same for short matches, far fewer inside long ones).
   */
  private async maximalMatches(pattern: Int32Array): Promise<Array<[number, number]>> {
    const n = pattern.length;
    const out: Array<[number, number]> = [];
    const memo = new Map<number, number>();
    const longest = async (j: number) => {
      let length = memo.get(j);
      if (length === undefined) memo.set(j, (length = await this.longestAt(pattern, j, n)));
      return length;
    };
    for (let i = 0; i < n;) {
      const length = await longest(i);
      if (length === 0) {
        i++;
        continue;
      }
      const e = i + length;
      out.push([i, e]);
      if (e === n) break;
      let lo = i + 1, hi = e + 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (mid + (await longest(mid)) > e) hi = mid;
        else lo = mid + 1;
      }
      i = lo;
    }
    return out;
  }

  /**
   * OLMoTrace-style spans of `tokens` found verbatim in the corpus: at each position the longest
   * match starting there; of those, the maximal ones (not inside an earlier-starting one); then
   * spans shorter than `minLength`, with too large a share of common tokens, or occurring more
   * than `maxOccurrences` times are dropped (after the maximality test, as OLMoTrace does: a
   * dropped span does not let the matches inside it through). Sorted by start; maximal spans
   * may overlap. A number for `options` is `minLength`.
   *
   * @example
   * const spans = await index.maximalSpans(output, { minLength: 4, commonTokenCount: 100 });
   */
  async maximalSpans(tokens: ArrayLike<number>, options: MaximalSpanOptions | number): Promise<Span[]> {
    this.check();
    const o = typeof options === 'number' ? { minLength: options } : options;
    const bad = (what: string, v: unknown) => new SpanIndexError('invalid_query', `${what}, got ${v}`);
    if (!Number.isInteger(o.minLength) || o.minLength < 1) throw bad('minLength must be a positive integer', o.minLength);
    if (o.commonTokenCount !== undefined && (!Number.isInteger(o.commonTokenCount) || o.commonTokenCount < 0)) throw bad('commonTokenCount must be a non-negative integer', o.commonTokenCount);
    if (o.commonTokenMinCount !== undefined && !(o.commonTokenMinCount >= 0)) throw bad('commonTokenMinCount must be ≥ 0', o.commonTokenMinCount);
    if (o.maxCommonTokenFraction !== undefined && !(o.maxCommonTokenFraction >= 0 && o.maxCommonTokenFraction <= 1)) throw bad('maxCommonTokenFraction must be in [0, 1]', o.maxCommonTokenFraction);
    if (o.maxOccurrences !== undefined && !(o.maxOccurrences >= 0)) throw bad('maxOccurrences must be ≥ 0', o.maxOccurrences);

    const pattern = toPattern(tokens, this.vocabSize);
    const common = this.commonTokens(o);
    const candidates: Array<{ start: number; end: number }> = [];
    for (const [start, end] of await this.maximalMatches(pattern)) {
      const len = end - start;
      if (len < o.minLength) continue;
      if (common !== undefined) {
        let k = 0;
        for (let j = start; j < end; j++) k += common[pattern[j]!]!;
        if (o.maxCommonTokenFraction === undefined ? k === len : k > o.maxCommonTokenFraction * len) continue;
      }
      candidates.push({ start, end });
    }
    const counts = new Array<number>(candidates.length);
    await this.forEach(candidates.length, async (i) => {
      counts[i] = await this.rangeCount(pattern, candidates[i]!.start, candidates[i]!.end - candidates[i]!.start);
    });
    return candidates
      .map((c, i) => ({ start: c.start, end: c.end, count: counts[i]! }))
      .filter((s) => o.maxOccurrences === undefined || s.count <= o.maxOccurrences);
  }

  /**
   * Where an n-gram occurs: the total count and up to `limit` (default 100) occurrences, spread
   * evenly over its suffix-array range (deterministic), sorted by corpus position.
   *
   * @example
   * const { count, occurrences } = await index.occurrences(output.slice(s.start, s.end), { limit: 10 });
   */
  async occurrences(ngram: ArrayLike<number>, options: { limit?: number } = {}): Promise<Occurrences> {
    this.check();
    const limit = positiveLimit(options.limit ?? 100);
    const pattern = toPattern(ngram, this.vocabSize);
    if (pattern.includes(-1)) return { count: 0, occurrences: [] };
    const ranges: Array<[number, number]> = [];
    for (const s of this.shards) ranges.push(await s.range(pattern, 0, pattern.length));
    const count = ranges.reduce((a, [lo, hi]) => a + hi - lo, 0);
    const picked = Math.min(limit, count);
    const out = new Array<Occurrence>(picked);
    await this.forEach(picked, async (k) => {
      let g = count <= limit ? k : Math.floor((k * count) / limit);
      for (const [i, [lo, hi]] of ranges.entries()) {
        if (g < hi - lo) {
          out[k] = await this.shards[i]!.locate(lo + g);
          return;
        }
        g -= hi - lo;
      }
    });
    return { count, occurrences: out.sort((a, b) => a.position - b.position) };
  }

  /**
   * The documents holding an n-gram: the total count of occurrences, and the documents of up to
   * `limit` (default 100) of them, with how many of those each holds.
   *
   * @example
   * const { documents } = await index.documentsOf(output.slice(s.start, s.end), { limit: 64 });
   */
  async documentsOf(ngram: ArrayLike<number>, options: { limit?: number } = {}): Promise<DocumentHits> {
    const { count, occurrences } = await this.occurrences(ngram, options);
    const documents: Array<{ document: number; occurrences: number }> = [];
    for (const o of occurrences) {
      const last = documents[documents.length - 1];
      if (last?.document === o.document) last.occurrences++;
      else documents.push({ document: o.document, occurrences: 1 });
    }
    return { count, complete: occurrences.length === count, documents };
  }

  /**
   * The distinct documents holding `span`, among up to `limit` of its occurrences (the
   * `SpanSource` shape attribution uses).
   *
   * @example
   * const docs = await index.documentsContaining(output.slice(s.start, s.end), 64);
   */
  async documentsContaining(span: ArrayLike<number>, limit: number): Promise<number[]> {
    return (await this.documentsOf(span, { limit })).documents.map((d) => d.document);
  }

  /**
   * Occurrences of one token in the corpus (0 outside the vocabulary).
   *
   * @example
   * index.unigramCount(13); // 48211
   */
  unigramCount(token: number): number {
    return Number.isInteger(token) && token >= 0 && token < this.vocabSize ? this.unigrams[token]! : 0;
  }

  /**
   * {@link spanWeight} of a span relative to this corpus' size.
   *
   * @example
   * const w = index.weight(s.end - s.start, s.count);
   */
  weight(length: number, count: number): number {
    return spanWeight(length, count, this.totalTokens);
  }

  /**
   * Re-reads every file and checks it against its SHA-256 in the manifest (a full read of the
   * index: seconds per GB). Throws SpanIndexError('span_index_corrupt') naming the first that differs.
   *
   * @example
   * await index.verify();
   */
  async verify(): Promise<void> {
    this.check();
    for (const shard of this.manifest.shards) {
      for (const file of Object.values(shard.files) as SpanIndexFile[]) {
        const hash = createHash('sha256');
        const path = join(this.dir, file.name);
        await pipeline(createReadStream(path), hash).catch((e: Error) => {
          throw new SpanIndexError('span_index_unreadable', `${path}: cannot read (${e.message})`);
        });
        if (hash.digest('hex') !== file.sha256) throw new SpanIndexError('span_index_corrupt', `${path} does not match its SHA-256 in the manifest (corrupt index)`);
      }
    }
  }

  /**
   * Closes the index's files; later queries throw.
   *
   * @example
   * await index.close();
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.handles.map((h) => h.close()));
  }
}

/** Reads a whole file of int32 into memory. */
async function readInts(fh: FileHandle, bytes: number): Promise<Int32Array> {
  const data = new Int32Array(bytes / 4);
  const view = bytesOf(data);
  for (let done = 0; done < bytes;) {
    const { bytesRead } = await fh.read(view, done, Math.min(bytes - done, 2 ** 30), done);
    if (bytesRead === 0) throw new Error(`file ended after ${done} of ${bytes} bytes`);
    done += bytesRead;
  }
  return data;
}

/**
 * Opens the span index in `dir`: checks the manifest (format, version, figures) and every file's
 * size, reads the unigram counts, and, for shards up to `loadShardsUpTo` bytes, their files.
 *
 * @example
 * const index = await openSpanIndex(join(modelDir, 'span-index'), { loadShardsUpTo: 256 * 2 ** 20 });
 * const spans = await index.maximalSpans(output, { minLength: 4 });
 */
export async function openSpanIndex(dir: string, options: OpenSpanIndexOptions = {}): Promise<SpanIndex> {
  assertLittleEndian();
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new SpanIndexError('invalid_option', `concurrency must be a positive integer, got ${concurrency}`);
  const loadUpTo = options.loadShardsUpTo ?? 0;
  if (options.io !== undefined && options.io !== 'async' && options.io !== 'sync') throw new SpanIndexError('invalid_option', `io must be 'async' or 'sync', got ${String(options.io)}`);
  const sync = options.io === 'sync';
  const cache = new PageCache(options.pageBytes ?? 4096, options.cacheBytes ?? 64 * 2 ** 20);
  let json: string;
  try {
    json = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new SpanIndexError('span_index_missing', `${dir} holds no span index (no ${MANIFEST_FILE}; an interrupted build leaves none)`);
    throw new SpanIndexError('span_index_unreadable', `${join(dir, MANIFEST_FILE)}: cannot read (${(e as Error).message})`);
  }
  const manifest = parseManifest(json, dir);
  const vocab = manifest.vocabSize;
  const handles: FileHandle[] = [];
  const openFile = async (file: SpanIndexFile): Promise<FileHandle> => {
    const path = join(dir, file.name);
    const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
      throw new SpanIndexError('span_index_corrupt', `${path}: ${e.code === 'ENOENT' ? 'missing' : `cannot open (${e.message})`} (incomplete index)`);
    });
    handles.push(fh);
    const { size } = await fh.stat();
    if (size !== file.bytes) throw new SpanIndexError('span_index_corrupt', `${path} has ${size} bytes, the manifest says ${file.bytes} (truncated or replaced)`);
    return fh;
  };
  try {
    const shards: ShardSearch[] = [];
    const unigrams = new Float64Array(vocab);
    for (const [i, s] of manifest.shards.entries()) {
      const name = join(dir, s.files.tokens.name.replace(/\.tokens\.i32$/, ''));
      const countsFh = await openFile(s.files.counts);
      const counts = await readInts(countsFh, s.files.counts.bytes);
      const bucketStart = new Int32Array(vocab + 1);
      let total = 0;
      for (let c = 0; c < vocab; c++) {
        const k = counts[c]!;
        if (k < 0) throw new SpanIndexError('span_index_corrupt', `${name}: negative unigram count (corrupt index)`);
        bucketStart[c] = total;
        total += k;
        unigrams[c] = unigrams[c]! + k;
      }
      bucketStart[vocab] = total;
      if (total !== s.saLength) throw new SpanIndexError('span_index_corrupt', `${name}: unigram counts sum to ${total}, the suffix array has ${s.saLength} entries (corrupt index)`);
      const files = [s.files.tokens, s.files.sa, s.files.docs] as const;
      const [tokensFh, saFh, docsFh] = [await openFile(files[0]), await openFile(files[1]), await openFile(files[2])];
      let sources: [Int32Source, Int32Source, Int32Source];
      if (s.files.tokens.bytes + s.files.sa.bytes <= loadUpTo) {
        const [tokens, sa, docs] = [await readInts(tokensFh, files[0].bytes), await readInts(saFh, files[1].bytes), await readInts(docsFh, files[2].bytes)];
        for (let x = 0; x < sa.length; x++) {
          const p = sa[x]!;
          if (p < 0 || p >= tokens.length) throw new SpanIndexError('span_index_corrupt', `${name}: suffix array entry ${x} is ${p}, outside the shard (corrupt index)`);
        }
        sources = [new MemoryInt32(tokens, `${name} tokens`), new MemoryInt32(sa, `${name} suffix array`), new MemoryInt32(docs, `${name} documents`)];
      } else {
        sources = [
          new PagedInt32(tokensFh, s.textLength, cache, join(dir, files[0].name), sync),
          new PagedInt32(saFh, s.saLength, cache, join(dir, files[1].name), sync),
          new PagedInt32(docsFh, 2 * s.documents, cache, join(dir, files[2].name), sync),
        ];
      }
      shards.push(new ShardSearch({ tokens: sources[0], sa: sources[1], docs: sources[2], bucketStart, firstDocument: s.firstDocument, documents: s.documents, name: `shard ${i} (${name})` }));
    }
    return new SpanIndex({ dir, manifest, shards, handles, unigrams, concurrency });
  } catch (e) {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
    throw e;
  }
}
