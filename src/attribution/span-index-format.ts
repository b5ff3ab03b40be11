/**
 * The span index's on-disk format (version 1): a folder holding `manifest.json` and, per shard,
 * four flat files of little-endian int32 (`shard-00000.tokens.i32` …):
 *
 * - `tokens`: the shard's documents back to back, each followed by the separator token
 *   (`vocabSize`), so no indexed n-gram spans two documents; an excluded document is a lone separator;
 * - `sa`: the suffix array of `tokens`, without the suffixes that start at a separator (they sort
 *   last, separator being the largest symbol), so it has one entry per indexed token;
 * - `docs`: per document two int32, its first position in `tokens` and in the input corpus;
 * - `counts`: `vocabSize` unigram counts of the shard's indexed tokens (its SA's bucket sizes).
 *
 * The manifest is written last: a folder without it is not an index (an interrupted build).
 * Each file's size and SHA-256 are in the manifest (sizes checked at open, hashes by `verify`).
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { CodedError } from '../util/coded-error.ts';

export const SPAN_INDEX_FORMAT = 'openledger-span-index';
export const SPAN_INDEX_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
/** Default shard size: stored tokens (separators included) per shard. */
export const DEFAULT_SHARD_TOKENS = 64 * 2 ** 20;
/** Stored tokens per shard at most: positions and suffix-array entries are int32. */
export const MAX_SHARD_TOKENS = 0x7fff_fffe;

/**
 * A corpus that cannot be indexed, an index folder that cannot be read (missing, another format
 * version, truncated or corrupt files), or a bad query. `code` says which.
 */
export class SpanIndexError extends CodedError {
  override name = 'SpanIndexError';
}

/** The corpus to index: documents back to back. */
export interface SpanCorpus {
  /** Every document's tokens, back to back; each in [0, vocabSize). */
  tokens: Int32Array;
  /** Start of each document in `tokens`: ascending (equal for empty documents), the first 0. */
  offsets: Int32Array;
  vocabSize: number;
  /** Documents flagged true keep their number but are not indexed (e.g. held-out examples). */
  excluded?: ArrayLike<boolean>;
}

export interface SpanIndexFile {
  name: string;
  bytes: number;
  sha256: string;
}

export interface SpanIndexShardManifest {
  /** Number of the shard's first document in the corpus' offsets. */
  firstDocument: number;
  documents: number;
  /** Tokens in `tokens` (documents and separators). */
  textLength: number;
  /** Entries in `sa`: the shard's indexed tokens. */
  saLength: number;
  files: { tokens: SpanIndexFile; sa: SpanIndexFile; docs: SpanIndexFile; counts: SpanIndexFile };
}

export interface SpanIndexManifest {
  format: typeof SPAN_INDEX_FORMAT;
  version: number;
  byteOrder: 'little-endian';
  vocabSize: number;
  /** The token stored after every document (= vocabSize). */
  separator: number;
  /** Documents in the corpus, excluded ones included. */
  documents: number;
  excludedDocuments: number;
  /** Tokens of the input corpus. */
  corpusTokens: number;
  /** Tokens indexed (the corpus less the excluded documents'). */
  indexedTokens: number;
  shardTokens: number;
  /** {@link corpusHash} of the input. */
  contentHash: string;
  shards: SpanIndexShardManifest[];
}

/** The files of shard `i`. */
export function shardFileNames(i: number): { tokens: string; sa: string; docs: string; counts: string } {
  const base = `shard-${String(i).padStart(5, '0')}`;
  return { tokens: `${base}.tokens.i32`, sa: `${base}.sa.i32`, docs: `${base}.docs.i32`, counts: `${base}.counts.i32` };
}

/** A Uint8Array over a typed array's bytes (no copy). */
export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The files are little-endian int32 read and written as the host's: refuse big-endian hosts. */
export function assertLittleEndian(): void {
  if (endianness() !== 'LE') throw new SpanIndexError('span_index_unsupported', 'span indexes are little-endian; this host is big-endian');
}

/**
 * Checks a corpus' shape: vocabulary size, offsets (ascending from 0, within the tokens) and the
 * excluded flags. Token values are checked while they are copied into shards.
 *
 * @example
 * validateCorpus({ tokens: Int32Array.of(1, 2, 3), offsets: Int32Array.of(0, 2), vocabSize: 4 });
 */
export function validateCorpus(corpus: SpanCorpus): void {
  const { tokens, offsets, vocabSize, excluded } = corpus;
  const bad = (message: string) => new SpanIndexError('invalid_corpus', message);
  if (!(tokens instanceof Int32Array)) throw bad('corpus tokens must be an Int32Array');
  if (!(offsets instanceof Int32Array)) throw bad('corpus offsets must be an Int32Array');
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 0x7fff_fffe) throw bad(`vocabulary size must be an integer in [1, 2^31 - 2], got ${vocabSize}`);
  if (offsets.length === 0) {
    if (tokens.length > 0) throw bad(`corpus has ${tokens.length} tokens but no document offsets`);
  } else if (offsets[0] !== 0) {
    throw bad(`the first document must start at 0, got ${offsets[0]}`);
  }
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i]! < offsets[i - 1]!) throw bad(`document offsets must ascend: offsets[${i}] = ${offsets[i]} < offsets[${i - 1}] = ${offsets[i - 1]}`);
  }
  if (offsets.length > 0 && offsets[offsets.length - 1]! > tokens.length) {
    throw bad(`the last document starts at ${offsets[offsets.length - 1]}, past the ${tokens.length} tokens`);
  }
  if (excluded !== undefined && excluded.length !== offsets.length) throw bad(`excluded has ${excluded.length} flags for ${offsets.length} documents`);
}

/**
 * The content hash of a corpus (hex SHA-256), stored in the manifest: of the header
 * `openledger-span-corpus/1` and vocabSize, document count and token count (u32 LE each),
 * then the tokens' bytes, the offsets' bytes and one byte per document (1 = excluded).
 * Recompute it from the training trace to check that an index belongs to it.
 *
 * @example
 * if (corpusHash(corpus) !== index.manifest.contentHash) throw new Error('stale index');
 */
export function corpusHash(corpus: SpanCorpus): string {
  assertLittleEndian();
  const header = Buffer.alloc(24 + 12);
  header.write('openledger-span-corpus/1', 0, 'latin1');
  header.writeUInt32LE(corpus.vocabSize >>> 0, 24);
  header.writeUInt32LE(corpus.offsets.length >>> 0, 28);
  header.writeUInt32LE(corpus.tokens.length >>> 0, 32);
  const flags = Uint8Array.from({ length: corpus.offsets.length }, (_, i) => (corpus.excluded?.[i] ? 1 : 0));
  return createHash('sha256').update(header).update(bytesOf(corpus.tokens)).update(bytesOf(corpus.offsets)).update(flags).digest('hex');
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const isFile = (f: unknown): f is SpanIndexFile => {
  const x = f as SpanIndexFile | null;
  return typeof x === 'object' && x !== null && typeof x.name === 'string' && /^[\w.-]+$/.test(x.name) && isCount(x.bytes) && typeof x.sha256 === 'string';
};

/**
 * Parses and checks a manifest: format, version, and the consistency of its figures (the
 * files' sizes against the shards' lengths), so later reads can trust them.
 *
 * @example
 * const manifest = parseManifest(await readFile(join(dir, MANIFEST_FILE), 'utf8'), dir);
 */
export function parseManifest(json: string, where: string): SpanIndexManifest {
  const corrupt = (why: string) => new SpanIndexError('span_index_corrupt', `${where}: ${MANIFEST_FILE} ${why}`);
  let m: SpanIndexManifest;
  try {
    m = JSON.parse(json) as SpanIndexManifest;
  } catch {
    throw corrupt('is not valid JSON');
  }
  if (typeof m !== 'object' || m === null || m.format !== SPAN_INDEX_FORMAT) throw corrupt(`is not a span index manifest (format ${JSON.stringify((m as { format?: unknown } | null)?.format)})`);
  if (m.version !== SPAN_INDEX_VERSION) {
    throw new SpanIndexError('span_index_unsupported', `${where}: span index version ${JSON.stringify(m.version)} is not supported (this build reads version ${SPAN_INDEX_VERSION}); rebuild the index`);
  }
  if (m.byteOrder !== 'little-endian') throw corrupt(`has byte order ${JSON.stringify(m.byteOrder)}`);
  for (const key of ['vocabSize', 'separator', 'documents', 'excludedDocuments', 'corpusTokens', 'indexedTokens', 'shardTokens'] as const) {
    if (!isCount(m[key])) throw corrupt(`has no valid ${key}`);
  }
  if (m.separator !== m.vocabSize) throw corrupt('has a separator other than vocabSize');
  if (typeof m.contentHash !== 'string' || !Array.isArray(m.shards)) throw corrupt('lacks contentHash or shards');
  let documents = 0, indexed = 0;
  for (const [i, s] of m.shards.entries()) {
    const names = shardFileNames(i);
    if (typeof s !== 'object' || s === null || !isCount(s.firstDocument) || !isCount(s.documents) || !isCount(s.textLength) || !isCount(s.saLength)) throw corrupt(`has an invalid shard ${i}`);
    if (s.firstDocument !== documents || s.saLength + s.documents !== s.textLength || s.textLength > MAX_SHARD_TOKENS) throw corrupt(`has inconsistent figures for shard ${i}`);
    const f = s.files;
    if (typeof f !== 'object' || f === null || !isFile(f.tokens) || !isFile(f.sa) || !isFile(f.docs) || !isFile(f.counts)) throw corrupt(`has invalid files for shard ${i}`);
    if (f.tokens.name !== names.tokens || f.sa.name !== names.sa || f.docs.name !== names.docs || f.counts.name !== names.counts) throw corrupt(`names unexpected files for shard ${i}`);
    if (f.tokens.bytes !== 4 * s.textLength || f.sa.bytes !== 4 * s.saLength || f.docs.bytes !== 8 * s.documents || f.counts.bytes !== 4 * m.vocabSize) {
      throw corrupt(`has file sizes that do not match shard ${i}'s lengths`);
    }
    documents += s.documents;
    indexed += s.saLength;
  }
  if (documents !== m.documents || indexed !== m.indexedTokens) throw corrupt('has shards that do not add up to its documents and tokens');
  return m;
}
