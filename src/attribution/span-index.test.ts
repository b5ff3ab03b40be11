import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { buildSpanIndex, corpusHash, openSpanIndex, SpanIndexError, type OpenSpanIndexOptions, type SpanCorpus } from './span-index.ts';
import { MANIFEST_FILE } from './span-index-format.ts';
import { spanWeight, SpanWeightError } from './span-weight.ts';

const root = await mkdtemp(join(tmpdir(), 'span-index-test-'));
after(() => rm(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `i${dirs++}`);

/** A corpus from documents given as arrays. */
function corpusOf(docs: number[][], vocabSize: number, excluded?: boolean[]): SpanCorpus {
  const offsets = new Int32Array(docs.length);
  let n = 0;
  docs.forEach((d, i) => {
    offsets[i] = n;
    n += d.length;
  });
  return { tokens: Int32Array.from(docs.flat()), offsets, vocabSize, excluded };
}

// ------------------------------------------------------------------ naive references

const indexed = (docs: number[][], excluded?: boolean[]) => docs.map((d, i) => (excluded?.[i] ? [] : d));

function naiveOccurrences(docs: number[][], ngram: number[]): Array<{ document: number; offset: number }> {
  const out: Array<{ document: number; offset: number }> = [];
  docs.forEach((d, document) => {
    // The empty n-gram occurs at every token.
    for (let offset = 0; offset + Math.max(ngram.length, 1) <= d.length; offset++) {
      if (ngram.every((t, j) => d[offset + j] === t)) out.push({ document, offset });
    }
  });
  return out;
}

function naiveLongest(docs: number[][], tokens: number[], start: number): number {
  let best = 0;
  for (const d of docs) {
    for (let p = 0; p < d.length; p++) {
      let l = 0;
      while (start + l < tokens.length && p + l < d.length && d[p + l] === tokens[start + l]) l++;
      best = Math.max(best, l);
    }
  }
  return best;
}

/** Maximal spans straight from the definition: every [i, j) that occurs and is in no other that occurs. */
function naiveMaximal(docs: number[][], tokens: number[], minLength: number) {
  const occurs = (i: number, j: number) => naiveOccurrences(docs, tokens.slice(i, j)).length > 0;
  const spans: Array<{ start: number; end: number; count: number }> = [];
  for (let i = 0; i < tokens.length; i++) {
    for (let j = tokens.length; j > i; j--) {
      if (!occurs(i, j)) continue;
      const inside = (i > 0 && occurs(i - 1, j)) || (j < tokens.length && occurs(i, j + 1));
      if (!inside && j - i >= minLength) spans.push({ start: i, end: j, count: naiveOccurrences(docs, tokens.slice(i, j)).length });
      break;
    }
  }
  return spans;
}

// ------------------------------------------------------------------ generators

const vocabArb = fc.integer({ min: 1, max: 5 });
const corpusArb = vocabArb.chain((vocab) =>
  fc.record({
    vocab: fc.constant(vocab),
    docs: fc.array(fc.array(fc.integer({ min: 0, max: vocab - 1 }), { maxLength: 25, size: 'max' }), { maxLength: 8, size: 'max' }),
    excludedSeed: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    shardTokens: fc.integer({ min: 2, max: 90 }),
    mode: fc.constantFrom<OpenSpanIndexOptions>({ loadShardsUpTo: Infinity }, { pageBytes: 16, cacheBytes: 64, concurrency: 3 }, { pageBytes: 64, cacheBytes: 0 }, { pageBytes: 16, cacheBytes: 48, io: 'sync' }),
    // Queries: pieces of documents (hits), random tokens, tokens outside the vocabulary.
    queries: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 8 }), fc.array(fc.integer({ min: -1, max: vocab }), { maxLength: 4 })), { minLength: 1, maxLength: 6 }),
  }),
);

function queryOf(docs: number[][], [a, b, len, noise]: [number, number, number, number[]]): number[] {
  const d = docs.length > 0 ? docs[a % docs.length]! : [];
  const start = d.length > 0 ? b % d.length : 0;
  return [...d.slice(start, start + len), ...noise];
}

async function withIndex<T>(docs: number[][], vocab: number, excluded: boolean[] | undefined, shardTokens: number, mode: OpenSpanIndexOptions, fn: (index: Awaited<ReturnType<typeof openSpanIndex>>) => Promise<T>): Promise<T> {
  const dir = freshDir();
  await buildSpanIndex(dir, corpusOf(docs, vocab, excluded), { shardTokens });
  const index = await openSpanIndex(dir, mode);
  try {
    return await fn(index);
  } finally {
    await index.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ tests

describe('span index', () => {
  it('counts, longest matches and occurrences equal a naive scan, across shards and read modes (property)', async () => {
    await fc.assert(fc.asyncProperty(corpusArb, async ({ vocab, docs, excludedSeed, shardTokens, mode, queries }) => {
      const excluded = excludedSeed.slice(0, docs.length).map((x, i) => x && i % 3 === 0);
      const live = indexed(docs, excluded);
      await withIndex(docs, vocab, excluded, shardTokens, mode, async (index) => {
        assert.equal(index.totalTokens, live.flat().length);
        for (const q of queries) {
          const ngram = queryOf(docs, q);
          const all = naiveOccurrences(live, ngram);
          assert.equal(await index.count(ngram), ngram.some((t) => t < 0 || t >= vocab) ? 0 : all.length, `count ${ngram}`);
          for (let start = 0; start <= ngram.length; start++) {
            const longest = naiveLongest(live, ngram, start);
            assert.deepEqual(await index.longestMatch(ngram, start), { length: longest, count: longest === 0 ? 0 : naiveOccurrences(live, ngram.slice(start, start + longest)).length });
          }
          if (ngram.some((t) => t < 0 || t >= vocab)) continue;
          const limit = q[2];
          const { count, occurrences } = await index.occurrences(ngram, { limit });
          assert.equal(count, all.length);
          assert.equal(occurrences.length, Math.min(limit, count));
          const keys = new Set(all.map((o) => `${o.document}/${o.offset}`));
          for (const o of occurrences) {
            assert.ok(keys.has(`${o.document}/${o.offset}`), `occurrence ${o.document}/${o.offset} of ${ngram}`);
            assert.equal(o.position, docs.slice(0, o.document).flat().length + o.offset);
          }
          assert.equal(new Set(occurrences.map((o) => o.position)).size, occurrences.length, 'distinct');
          assert.deepEqual(occurrences.map((o) => o.position), occurrences.map((o) => o.position).sort((x, y) => x - y));
        }
      });
    }), { numRuns: 120 });
  });

  it('finds the maximal spans the definition gives (property)', async () => {
    const arb = fc.record({
      corpus: corpusArb,
      output: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 8 }), fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 3 })), { maxLength: 5 }),
      minLength: fc.integer({ min: 1, max: 4 }),
    });
    await fc.assert(fc.asyncProperty(arb, async ({ corpus: { vocab, docs, shardTokens, mode }, output, minLength }) => {
      const tokens = output.flatMap((q) => queryOf(docs, q));
      await withIndex(docs, vocab, undefined, shardTokens, mode, async (index) => {
        assert.deepEqual(await index.maximalSpans(tokens, { minLength }), naiveMaximal(docs, tokens, minLength));
      });
    }), { numRuns: 80 });
  });

  it('never matches across a document boundary', async () => {
    await withIndex([[1, 2], [3, 4], [2, 3]], 5, [false, false, true], 100, {}, async (index) => {
      assert.equal(await index.count([2, 3]), 0);
      assert.equal(await index.count([4]), 1);
      assert.deepEqual(await index.longestMatch([1, 2, 3, 4], 0), { length: 2, count: 1 });
      assert.deepEqual(await index.maximalSpans([1, 2, 3, 4], 1), [{ start: 0, end: 2, count: 1 }, { start: 2, end: 4, count: 1 }]);
      assert.deepEqual(await index.documentsOf([3]), { count: 1, complete: true, documents: [{ document: 1, occurrences: 1 }] });
    });
  });

  it('drops short, common-token and frequent spans', async () => {
    // Token 0 is by far the most frequent; [5, 6, 7, 8] occurs twice.
    const docs = [[0, 0, 0, 1, 0, 0, 0, 2], [5, 6, 7, 8, 0, 0], [9, 5, 6, 7, 8]];
    await withIndex(docs, 10, undefined, 100, { loadShardsUpTo: Infinity }, async (index) => {
      const output = [0, 0, 0, 3, 5, 6, 7, 8, 4, 9, 5];
      assert.deepEqual(await index.maximalSpans(output, 1), [{ start: 0, end: 3, count: 2 }, { start: 4, end: 8, count: 2 }, { start: 9, end: 11, count: 1 }]);
      assert.deepEqual(await index.maximalSpans(output, { minLength: 3 }), [{ start: 0, end: 3, count: 2 }, { start: 4, end: 8, count: 2 }]);
      assert.deepEqual(await index.maximalSpans(output, { minLength: 2, commonTokenCount: 1 }), [{ start: 4, end: 8, count: 2 }, { start: 9, end: 11, count: 1 }]);
      assert.deepEqual(await index.maximalSpans(output, { minLength: 2, commonTokenMinCount: 3, maxOccurrences: 1 }), [{ start: 9, end: 11, count: 1 }]);
      // Common: 0 (8 times), then 5 and 6 (twice, ties by id); half of [5 6 7 8] and of [9 5].
      const half = { minLength: 1, commonTokenCount: 3, maxCommonTokenFraction: 0.5 };
      assert.deepEqual(await index.maximalSpans(output, half), [{ start: 4, end: 8, count: 2 }, { start: 9, end: 11, count: 1 }]);
      assert.deepEqual(await index.maximalSpans(output, { ...half, maxCommonTokenFraction: 0.4 }), []);
      assert.equal(index.unigramCount(0), 8);
      assert.equal(index.unigramCount(99), 0);
      await assert.rejects(index.maximalSpans(output, 0), (e: unknown) => e instanceof SpanIndexError && e.code === 'invalid_query');
      await assert.rejects(index.maximalSpans(output, { minLength: 1, maxCommonTokenFraction: 2 }), /maxCommonTokenFraction/);
    });
  });

  it('spreads materialised occurrences over the range and maps them to documents', async () => {
    const docs = Array.from({ length: 10 }, (_, d) => [7, 7, d % 3]);
    await withIndex(docs, 8, undefined, 7, { pageBytes: 16, cacheBytes: 32 }, async (index) => {
      const all = await index.occurrences([7], { limit: 100 });
      assert.equal(all.count, 20);
      assert.deepEqual(all.occurrences.map((o) => o.position), docs.flatMap((_, d) => [3 * d, 3 * d + 1]));
      const some = await index.documentsOf([7, 7], { limit: 4 });
      assert.equal(some.count, 10);
      assert.equal(some.complete, false);
      assert.equal(some.documents.length, 4);
      assert.ok(some.documents.every((d) => d.occurrences === 1));
      assert.equal(new Set(some.documents.map((d) => d.document)).size, 4);
      assert.deepEqual(await index.documentsContaining([7, 2], 64), [2, 5, 8]);
      assert.deepEqual(await index.occurrences([7], { limit: 0 }), { count: 20, occurrences: [] });
    });
  });

  it('shards at document boundaries and records the corpus hash', async () => {
    const dir = freshDir();
    const corpus = corpusOf([[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11], [1], [2, 2]], 12);
    const manifest = await buildSpanIndex(dir, corpus, { shardTokens: 5 });
    assert.deepEqual(manifest.shards.map((s) => [s.firstDocument, s.documents, s.textLength, s.saLength]), [[0, 1, 4, 3], [1, 1, 9, 8], [2, 2, 5, 3]]);
    assert.equal(manifest.contentHash, corpusHash(corpus));
    assert.notEqual(corpusHash({ ...corpus, excluded: [false, true, false, false] }), manifest.contentHash);
    const again = await buildSpanIndex(freshDir(), corpus, { shardTokens: 5 });
    assert.deepEqual(again, manifest, 'deterministic');
    await assert.rejects(buildSpanIndex(dir, corpus), (e: unknown) => e instanceof SpanIndexError && e.code === 'span_index_exists');
    const rebuilt = await buildSpanIndex(dir, corpus, { overwrite: true });
    assert.equal(rebuilt.shards.length, 1);
    const index = await openSpanIndex(dir);
    assert.equal(await index.count([2]), 3);
    await index.close();
    await assert.rejects(index.count([2]), (e: unknown) => e instanceof SpanIndexError && e.code === 'span_index_closed');
    const empty = await openSpanIndex((await buildSpanIndex(join(dir, 'empty'), corpusOf([], 3)), join(dir, 'empty')));
    assert.deepEqual([await empty.count([1]), await empty.maximalSpans([1, 2], 1), empty.totalTokens], [0, [], 0]);
    await empty.close();
  });

  it('rejects corpora it cannot index', async () => {
    const bad = async (corpus: SpanCorpus, pattern: RegExp) =>
      assert.rejects(buildSpanIndex(freshDir(), corpus), (e: unknown) => e instanceof SpanIndexError && e.code === 'invalid_corpus' && pattern.test(e.message));
    await bad({ tokens: Int32Array.of(1, 5), offsets: Int32Array.of(0), vocabSize: 5 }, /token 5 at position 1 \(document 0\)/);
    await bad({ tokens: Int32Array.of(1, 2), offsets: Int32Array.of(0, 2, 1), vocabSize: 5 }, /ascend/);
    await bad({ tokens: Int32Array.of(1, 2), offsets: Int32Array.of(1), vocabSize: 5 }, /start at 0/);
    await bad({ tokens: Int32Array.of(1, 2), offsets: Int32Array.of(0, 3), vocabSize: 5 }, /past the 2 tokens/);
    await bad({ tokens: Int32Array.of(1), offsets: new Int32Array(0), vocabSize: 5 }, /no document offsets/);
    await bad({ tokens: Int32Array.of(1), offsets: Int32Array.of(0), vocabSize: 0 }, /vocabulary size/);
    await bad({ tokens: Int32Array.of(1), offsets: Int32Array.of(0), vocabSize: 5, excluded: [] }, /excluded/);
    await assert.rejects(buildSpanIndex(freshDir(), corpusOf([[1]], 2), { shardTokens: 1 }), /shardTokens/);
  });

  it('refuses missing, foreign, newer, truncated and corrupt index files with clear errors', async () => {
    const code = (c: string, pattern?: RegExp) => (e: unknown) => e instanceof SpanIndexError && e.code === c && (pattern === undefined || pattern.test(e.message));
    await assert.rejects(openSpanIndex(freshDir()), code('span_index_missing', /no manifest\.json/));
    const dir = freshDir();
    await buildSpanIndex(dir, corpusOf([[1, 2, 3, 1, 2], [3, 3, 1]], 4));
    const manifest = await readFile(join(dir, MANIFEST_FILE), 'utf8');
    const withManifest = async (text: string, check: (e: unknown) => boolean) => {
      await writeFile(join(dir, MANIFEST_FILE), text);
      await assert.rejects(openSpanIndex(dir), check);
      await writeFile(join(dir, MANIFEST_FILE), manifest);
    };
    await withManifest('{"version": 1', code('span_index_corrupt', /not valid JSON/));
    await withManifest(JSON.stringify({ format: 'other' }), code('span_index_corrupt', /not a span index manifest/));
    await withManifest(manifest.replace('"version": 1', '"version": 2'), code('span_index_unsupported', /version 2 is not supported/));
    await withManifest(manifest.replace('"saLength": 8', '"saLength": 7'), code('span_index_corrupt', /inconsistent/));

    // Every file's integrity: the full hash check, then what a query meets.
    const index = await openSpanIndex(dir);
    await index.verify();
    await index.close();
    const sa = join(dir, 'shard-00000.sa.i32');
    const original = await readFile(sa);
    const corrupt = Buffer.from(original);
    corrupt.writeInt32LE(1000, 0);
    await writeFile(sa, corrupt);
    const paged = await openSpanIndex(dir);
    await assert.rejects(paged.verify(), code('span_index_corrupt', /sa\.i32 does not match its SHA-256/));
    await assert.rejects(paged.count([1, 2]), code('span_index_corrupt', /suffix array entry 0 is 1000/));
    await paged.close();
    await assert.rejects(openSpanIndex(dir, { loadShardsUpTo: Infinity }), code('span_index_corrupt', /entry 0 is 1000/));
    await writeFile(sa, original);
    await truncate(sa, original.length - 4);
    await assert.rejects(openSpanIndex(dir), code('span_index_corrupt', /sa\.i32 has 28 bytes, the manifest says 32/));
    await rm(sa);
    await assert.rejects(openSpanIndex(dir), code('span_index_corrupt', /sa\.i32: missing/));
    await writeFile(sa, original);
    await assert.rejects(openSpanIndex(dir, { pageBytes: 100 }), code('invalid_option', /pageBytes/));
    await assert.rejects(openSpanIndex(dir, { io: 'mmap' as 'sync' }), code('invalid_option', /io must be/));

    // A tokens file whose last separator became a token: a comparison runs off its end.
    const tokens = join(dir, 'shard-00000.tokens.i32');
    const text = await readFile(tokens);
    const overrun = Buffer.from(text);
    overrun.writeInt32LE(2, text.length - 4);
    await writeFile(tokens, overrun);
    for (const mode of [{}, { io: 'sync' as const }, { loadShardsUpTo: Infinity }]) {
      const index = await openSpanIndex(dir, mode);
      await assert.rejects(index.count([3, 1, 2, 0]), code('span_index_corrupt', /past its 10 entries/));
      await index.close();
    }
    // Files cut short while open.
    await writeFile(tokens, text);
    for (const mode of [{ pageBytes: 16 }, { pageBytes: 16, io: 'sync' as const }]) {
      const index = await openSpanIndex(dir, mode);
      await truncate(tokens, 8);
      await assert.rejects(index.count([3, 3, 1]), code('span_index_corrupt', /tokens\.i32 is truncated: 0 of \d+ bytes/));
      await index.close();
      await writeFile(tokens, text);
    }
  });

  it('accepts odd query tokens and rejects bad arguments', async () => {
    await withIndex([[1, 2, 3]], 4, undefined, 100, {}, async (index) => {
      assert.equal(await index.count([]), 3);
      assert.equal(await index.count([1, 2.5]), 0);
      assert.equal(await index.count([Number.NaN]), 0);
      assert.deepEqual(await index.longestMatch([9, 1, 2, -3], 1), { length: 2, count: 1 });
      assert.deepEqual(await index.longestMatch([1], 1), { length: 0, count: 0 });
      await assert.rejects(index.longestMatch([1], 2), code400);
      await assert.rejects(index.occurrences([1], { limit: -1 }), code400);
      assert.ok(Math.abs(index.weight(3, 1) - 3 * Math.log1p(3)) < 1e-12);
    });
  });
});

const code400 = (e: unknown) => e instanceof SpanIndexError && e.code === 'invalid_query';

describe('spanWeight', () => {
  it('weighs a long rare span above a short common one, growing with length and rarity', () => {
    assert.ok(spanWeight(12, 1, 100_000_000) > spanWeight(4, 10_000, 100_000_000));
    assert.ok(Math.abs(spanWeight(12, 1, 100_000_000) - 12 * Math.log1p(1e8)) < 1e-9);
    fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1000, max: 1e9 }), (len, count, total) => {
      const w = spanWeight(len, count, total);
      assert.ok(w > 0 && spanWeight(len + 1, count, total) > w && (count === 1 || spanWeight(len, count - 1, total) > w));
    }));
  });

  it('rejects impossible figures', () => {
    assert.throws(() => spanWeight(0, 1, 10), SpanWeightError);
    assert.throws(() => spanWeight(2, 0, 10), /count/);
    assert.throws(() => spanWeight(2, 11, 10), /corpus size/);
    assert.throws(() => spanWeight(1.5, 1, 10), /length/);
  });
});
