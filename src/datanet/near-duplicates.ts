/**
 * Near-duplicate detection for a datanet's contributions: MinHash signatures of word (or
 * character) shingles, an LSH index with banding to find candidates, and the estimated Jaccard
 * similarity from the whole signature as the final check against the datanet's threshold.
 * See docs/decisions/0005-near-duplicate-detection.md.
 */
import { lshBands, type LshBands } from './lsh-bands.ts';
import { createLshIndex, type LshIndex } from './lsh-index.ts';
import { createMinHasher, DEFAULT_MINHASH_SEED, DEFAULT_NUM_PERM } from './minhash.ts';
import { decodeIndex, encodeIndex, type IndexParameters } from './near-duplicates-codec.ts';
import { NearDuplicateError } from './near-duplicates-errors.ts';
import { DEFAULT_SHINGLE, shingleHashes, type ShingleOptions } from './shingles.ts';

export { NearDuplicateError, type NearDuplicateErrorCode } from './near-duplicates-errors.ts';
export type { ShingleOptions } from './shingles.ts';

/** The default similarity threshold, as in a datanet definition's `nearDuplicateThreshold`. */
export const DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.8;

/** How an index compares texts. Every field has a default. */
export interface NearDuplicateOptions {
  /** Estimated Jaccard similarity at or above which a text is a near-duplicate; in (0, 1], default 0.8. */
  threshold?: number;
  /** MinHash permutations (signature length), default 128. */
  numPerm?: number;
  /** Shingles: default word 3-grams; `{ kind: 'chars', size: 5 }` suits short texts, `size: 2` or 3 languages without spaces. */
  shingle?: ShingleOptions;
  /** Seed of the MinHash permutations, default 1. Indexes only compare with the same seed. */
  seed?: number;
  /** LSH banding; default {@link lshBands}(threshold, numPerm). */
  banding?: LshBands;
}

/** The result of a check: the most similar indexed id at or above the threshold, if any. */
export interface NearDuplicateMatch {
  /** The id of the indexed text most similar to the checked one (the earliest added among equals). */
  duplicateOf?: string;
  /** Its estimated Jaccard similarity, in [threshold, 1]. */
  similarity?: number;
}

/** A near-duplicate index of texts, by id. */
export interface NearDuplicateIndex extends Readonly<IndexParameters> {
  /** How many ids it holds. */
  readonly size: number;
  /** The most similar indexed text at or above the threshold, or `{}`. */
  check(text: string): NearDuplicateMatch;
  /** Indexes `text` under `id` (replacing what `id` had). A text with no words after normalisation is not indexed. */
  add(id: string, text: string): void;
  /** Removes `id` (a rejected contribution); false when it was not indexed. */
  remove(id: string): boolean;
  has(id: string): boolean;
  /** The bytes to persist; {@link restoreNearDuplicateIndex} makes the same index from them. */
  serialize(): Uint8Array;
  /** The MinHash signature of a text (all 0xffffffff for a text without shingles). */
  signature(text: string): Uint32Array;
  /** {@link check} for a signature made by this index's {@link signature}. */
  checkSignature(signature: Uint32Array): NearDuplicateMatch;
  /** {@link add} for a signature made by this index's {@link signature}. */
  addSignature(id: string, signature: Uint32Array): void;
}

/**
 * An empty near-duplicate index. The validation pipeline checks each new contribution's text
 * and adds the accepted ones; curation removes rejected ones.
 *
 * @example
 * const index = createNearDuplicateIndex({ threshold: datanet.nearDuplicateThreshold });
 * const { duplicateOf, similarity } = index.check(text);
 * if (!duplicateOf) index.add(contributionId, text);
 * index.remove(rejectedId);
 * await saveBlob(index.serialize());
 */
export function createNearDuplicateIndex(options: NearDuplicateOptions = {}): NearDuplicateIndex {
  const threshold = options.threshold ?? DEFAULT_NEAR_DUPLICATE_THRESHOLD;
  const numPerm = options.numPerm ?? DEFAULT_NUM_PERM;
  const shingle = options.shingle ?? DEFAULT_SHINGLE;
  const seed = options.seed ?? DEFAULT_MINHASH_SEED;
  const invalid = (why: string) => new NearDuplicateError('invalid_near_duplicate_options', why);
  if (!(threshold > 0 && threshold <= 1)) throw invalid(`threshold must be in (0, 1], got ${threshold}`);
  if (!Number.isInteger(numPerm) || numPerm < 1 || numPerm > 0xffff) throw invalid(`numPerm must be an integer in [1, 65535], got ${numPerm}`);
  if ((shingle.kind !== 'words' && shingle.kind !== 'chars') || !Number.isInteger(shingle.size) || shingle.size < 1 || shingle.size > 255) {
    throw invalid(`shingles must be words or chars of size 1 to 255, got ${JSON.stringify(shingle)}`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalid(`seed must be a 32-bit unsigned integer, got ${seed}`);
  const banding = options.banding ?? lshBands(threshold, numPerm);
  const { bands, rows } = banding;
  if (!Number.isInteger(bands) || !Number.isInteger(rows) || bands < 1 || rows < 1 || bands * rows > numPerm) {
    throw invalid(`cannot band ${numPerm} permutations as ${bands} × ${rows}`);
  }
  const lsh: LshIndex = createLshIndex({ numPerm, bands, rows });
  const minhash = createMinHasher({ numPerm, seed });
  // The least number of agreeing positions that reaches the threshold (integer, so no rounding surprises).
  const minAgreeing = Math.max(1, Math.ceil(threshold * numPerm - 1e-9));
  const parameters: IndexParameters = { threshold, numPerm, shingle: Object.freeze({ ...shingle }), seed, bands, rows };

  // The pipeline checks a text and then adds the same text: remember the last signature made.
  let lastText: string | undefined;
  let lastSignature: Uint32Array | undefined;
  const signatureOf = (text: string): Uint32Array | undefined => {
    if (text !== lastText) {
      const hashes = shingleHashes(text, shingle);
      lastText = text;
      lastSignature = hashes.length === 0 ? undefined : minhash.signature(hashes);
    }
    return lastSignature;
  };

  const checkSignature = (signature: Uint32Array): NearDuplicateMatch => {
    let best: string | undefined;
    let bestAgreeing = minAgreeing - 1;
    for (const id of lsh.query(signature)) {
      const other = lsh.signatureOf(id)!;
      let agreeing = 0;
      for (let i = 0; i < numPerm; i++) if (other[i] === signature[i]) agreeing++;
      if (agreeing > bestAgreeing) {
        bestAgreeing = agreeing;
        best = id;
      }
    }
    return best === undefined ? {} : { duplicateOf: best, similarity: bestAgreeing / numPerm };
  };

  return {
    ...parameters,
    get size() {
      return lsh.size;
    },
    check(text) {
      const signature = signatureOf(text);
      return signature ? checkSignature(signature) : {};
    },
    add(id, text) {
      const signature = signatureOf(text);
      if (signature) lsh.add(id, signature);
      else lsh.remove(id);
    },
    remove: (id) => lsh.remove(id),
    has: (id) => lsh.has(id),
    serialize: () => encodeIndex(parameters, lsh.entries()),
    signature: (text) => (signatureOf(text) ?? minhash.signature(new Uint32Array(0))).slice(),
    checkSignature,
    addSignature: (id, signature) => lsh.add(id, signature),
  };
}

/**
 * The index that {@link NearDuplicateIndex.serialize} saved, with the same parameters, ids,
 * signatures and insertion order. Giving another `threshold` (a datanet whose threshold changed)
 * re-bands the restored signatures for it. Throws {@link NearDuplicateError}
 * (`corrupt_near_duplicate_index`, `unsupported_near_duplicate_index`): the node then rebuilds
 * the index from the contributions' texts.
 *
 * @example
 * const index = restoreNearDuplicateIndex(await loadBlob(key));
 * const same = restoreNearDuplicateIndex(bytes, { threshold: 0.9 }); // re-banded for 0.9
 */
export function restoreNearDuplicateIndex(bytes: Uint8Array, options: { threshold?: number } = {}): NearDuplicateIndex {
  const { parameters, entries } = decodeIndex(bytes);
  const rethreshold = options.threshold !== undefined && options.threshold !== parameters.threshold;
  const index = createNearDuplicateIndex({
    threshold: options.threshold ?? parameters.threshold,
    numPerm: parameters.numPerm,
    shingle: parameters.shingle,
    seed: parameters.seed,
    banding: rethreshold ? undefined : { bands: parameters.bands, rows: parameters.rows },
  });
  for (const [id, signature] of entries) index.addSignature(id, signature);
  return index;
}
