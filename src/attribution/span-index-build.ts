/**
 * Builds a span index (format: span-index-format.ts) from a corpus of documents: splits it at
 * document boundaries into shards of at most `shardTokens` stored tokens, sorts each shard's
 * suffixes with SA-IS and writes its flat files, then the manifest.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { suffixArray } from './suffix-array.ts';
import {
  assertLittleEndian, bytesOf, corpusHash, DEFAULT_SHARD_TOKENS, MANIFEST_FILE, MAX_SHARD_TOKENS, shardFileNames, SPAN_INDEX_FORMAT, SPAN_INDEX_VERSION, SpanIndexError,
  validateCorpus, type SpanCorpus, type SpanIndexFile, type SpanIndexManifest, type SpanIndexShardManifest,
} from './span-index-format.ts';

export interface BuildSpanIndexOptions {
  /** Stored tokens per shard at most (documents + one separator each); default 64 Mi. A larger single document gets a shard of its own. */
  shardTokens?: number;
  /** Replace an index already in the folder (default: refuse). */
  overwrite?: boolean;
  /** Called as each shard is sorted and written (for progress bars). */
  onProgress?: (progress: { shard: number; shards: number; phase: 'sort' | 'write'; tokens: number }) => void;
}

/** Documents [first, end) of the corpus, and their stored length. */
interface ShardPlan {
  first: number;
  end: number;
  textLength: number;
}

function planShards(corpus: SpanCorpus, shardTokens: number): ShardPlan[] {
  const { offsets, tokens, excluded } = corpus;
  const plans: ShardPlan[] = [];
  let current: ShardPlan | undefined;
  for (let d = 0; d < offsets.length; d++) {
    const length = excluded?.[d] ? 0 : (d + 1 < offsets.length ? offsets[d + 1]! : tokens.length) - offsets[d]!;
    const stored = length + 1;
    if (stored > MAX_SHARD_TOKENS) throw new SpanIndexError('invalid_corpus', `document ${d} has ${length} tokens, more than a shard can hold (${MAX_SHARD_TOKENS - 1})`);
    if (current === undefined || current.textLength + stored > shardTokens) {
      current = { first: d, end: d, textLength: 0 };
      plans.push(current);
    }
    current.end = d + 1;
    current.textLength += stored;
  }
  return plans;
}

/** Writes `data` to `path` and syncs it; returns its manifest entry. */
async function writeIntFile(dir: string, name: string, data: Int32Array): Promise<SpanIndexFile> {
  const bytes = bytesOf(data);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const fh = await open(join(dir, name), 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { name, bytes: bytes.byteLength, sha256 };
}

/**
 * Builds the span index of `corpus` into `dir` (created if missing) and returns its manifest.
 * Memory: the corpus plus, for the largest shard, its stored tokens and suffix array (8 bytes a
 * token) and SA-IS's bucket arrays. Deterministic: the same corpus and options give the same files.
 *
 * @example
 * await buildSpanIndex(join(jobDir, 'span-index'), { tokens, offsets, vocabSize: tokenizer.vocabSize });
 */
export async function buildSpanIndex(dir: string, corpus: SpanCorpus, options: BuildSpanIndexOptions = {}): Promise<SpanIndexManifest> {
  assertLittleEndian();
  validateCorpus(corpus);
  const shardTokens = options.shardTokens ?? DEFAULT_SHARD_TOKENS;
  if (!Number.isInteger(shardTokens) || shardTokens < 2 || shardTokens > MAX_SHARD_TOKENS) {
    throw new SpanIndexError('invalid_corpus', `shardTokens must be an integer in [2, ${MAX_SHARD_TOKENS}], got ${shardTokens}`);
  }
  await mkdir(dir, { recursive: true });
  const exists = await stat(join(dir, MANIFEST_FILE)).then(() => true, () => false);
  if (exists && !options.overwrite) throw new SpanIndexError('span_index_exists', `${dir} already holds a span index (pass overwrite to replace it)`);
  // The manifest goes first, so the folder is never an index made of mixed files.
  await rm(join(dir, MANIFEST_FILE), { force: true });
  for (const f of await readdir(dir)) if (/^shard-\d+\.(tokens|sa|docs|counts)\.i32$/.test(f)) await rm(join(dir, f));

  const { tokens, offsets, vocabSize, excluded } = corpus;
  const separator = vocabSize;
  const plans = planShards(corpus, shardTokens);
  const largest = plans.reduce((m, p) => Math.max(m, p.textLength), 0);
  const textBuffer = new Int32Array(largest);
  const saBuffer = new Int32Array(largest);
  const shards: SpanIndexShardManifest[] = [];
  let excludedDocuments = 0;
  for (const [i, plan] of plans.entries()) {
    const text = textBuffer.subarray(0, plan.textLength);
    const documents = plan.end - plan.first;
    const docs = new Int32Array(2 * documents);
    const counts = new Int32Array(vocabSize);
    let pos = 0;
    for (let d = plan.first; d < plan.end; d++) {
      const start = offsets[d]!;
      docs[2 * (d - plan.first)] = pos;
      docs[2 * (d - plan.first) + 1] = start;
      if (excluded?.[d]) {
        excludedDocuments++;
      } else {
        const end = d + 1 < offsets.length ? offsets[d + 1]! : tokens.length;
        for (let j = start; j < end; j++) {
          const c = tokens[j]!;
          if (c < 0 || c >= vocabSize) throw new SpanIndexError('invalid_corpus', `token ${c} at position ${j} (document ${d}) is outside the vocabulary [0, ${vocabSize})`);
          counts[c]!++;
          text[pos++] = c;
        }
      }
      text[pos++] = separator;
    }
    options.onProgress?.({ shard: i, shards: plans.length, phase: 'sort', tokens: plan.textLength });
    const sa = suffixArray(text, vocabSize + 1, saBuffer);
    const saLength = plan.textLength - documents;
    options.onProgress?.({ shard: i, shards: plans.length, phase: 'write', tokens: plan.textLength });
    const names = shardFileNames(i);
    shards.push({
      firstDocument: plan.first,
      documents,
      textLength: plan.textLength,
      saLength,
      files: {
        tokens: await writeIntFile(dir, names.tokens, text),
        sa: await writeIntFile(dir, names.sa, sa.subarray(0, saLength)),
        docs: await writeIntFile(dir, names.docs, docs),
        counts: await writeIntFile(dir, names.counts, counts),
      },
    });
  }
  const indexedTokens = shards.reduce((n, s) => n + s.saLength, 0);
  const manifest: SpanIndexManifest = {
    format: SPAN_INDEX_FORMAT,
    version: SPAN_INDEX_VERSION,
    byteOrder: 'little-endian',
    vocabSize,
    separator,
    documents: offsets.length,
    excludedDocuments,
    corpusTokens: tokens.length,
    indexedTokens,
    shardTokens,
    contentHash: corpusHash(corpus),
    shards,
  };
  await writeFileAtomic(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
