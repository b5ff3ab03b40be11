/**
 * A MinHash LSH index with banding: each signature is cut into b bands of r rows; signatures
 * sharing any band are candidates. It keeps each id's signature so that it can remove ids and
 * so that candidates can be verified against the whole signature.
 */
import type { LshBands } from './lsh-bands.ts';
import { murmur3Words } from './murmur3.ts';

interface Entry {
  id: string;
  /** Insertion order: ties between equally similar candidates go to the earliest. */
  seq: number;
  signature: Uint32Array;
}

/** A bucket: most hold one entry, kept bare (an array per bucket would triple the index's memory). */
type Bucket = Entry | Entry[];

/** An LSH index over MinHash signatures of one length. */
export interface LshIndex {
  readonly numPerm: number;
  readonly bands: number;
  readonly rows: number;
  /** How many ids it holds. */
  readonly size: number;
  /** Adds `id` with its signature (a copy is kept); replaces the signature if `id` is there already. */
  add(id: string, signature: Uint32Array): void;
  /** Removes `id`; false when it was not there. */
  remove(id: string): boolean;
  has(id: string): boolean;
  /** The signature kept for `id` (do not modify it). */
  signatureOf(id: string): Uint32Array | undefined;
  /** The ids that share at least one band with `signature`, in insertion order. */
  query(signature: Uint32Array): string[];
  /** Every id and its signature, in insertion order. */
  entries(): IterableIterator<[id: string, signature: Uint32Array]>;
}

/**
 * An empty LSH index for signatures of `numPerm` values, banded as `bands` × `rows`
 * (b·r ≤ numPerm; the remaining values take no part in banding). A band's bucket key is the low
 * 30 bits of MurmurHash3 of its r values with the band's number as seed; two different band
 * contents that collide on a key only make an extra candidate, which verification drops.
 *
 * @example
 * const lsh = createLshIndex({ numPerm: 128, ...lshBands(0.8, 128) });
 * lsh.add('a', minhash.signature(shingleHashes(textA)));
 * lsh.query(minhash.signature(shingleHashes(textB))) // ['a'] when they share a band
 */
export function createLshIndex({ numPerm, bands, rows }: { numPerm: number } & LshBands): LshIndex {
  if (!Number.isInteger(bands) || !Number.isInteger(rows) || bands < 1 || rows < 1 || bands * rows > numPerm) {
    throw new RangeError(`cannot band ${numPerm} permutations as ${bands} × ${rows}`);
  }
  const byId = new Map<string, Entry>();
  const buckets = Array.from({ length: bands }, () => new Map<number, Bucket>());
  let nextSeq = 0;

  // Keys are kept to 30 bits: V8 stores such integers inline (as Smis), not as heap numbers.
  const keysOf = (signature: Uint32Array) => {
    if (signature.length !== numPerm) throw new RangeError(`signature of ${signature.length} values, the index takes ${numPerm}`);
    const keys = new Int32Array(bands);
    for (let band = 0; band < bands; band++) keys[band] = murmur3Words(signature, band, band * rows, (band + 1) * rows) & 0x3fffffff;
    return keys;
  };

  const remove = (id: string) => {
    const entry = byId.get(id);
    if (!entry) return false;
    byId.delete(id);
    const keys = keysOf(entry.signature);
    for (let band = 0; band < bands; band++) {
      const bucket = buckets[band]!;
      const key = keys[band]!;
      const members = bucket.get(key)!;
      if (!Array.isArray(members)) bucket.delete(key);
      else {
        members.splice(members.indexOf(entry), 1);
        if (members.length === 1) bucket.set(key, members[0]!);
      }
    }
    return true;
  };

  return {
    numPerm,
    bands,
    rows,
    get size() {
      return byId.size;
    },
    add(id, signature) {
      const keys = keysOf(signature);
      remove(id);
      const entry: Entry = { id, seq: nextSeq++, signature: signature.slice() };
      byId.set(id, entry);
      for (let band = 0; band < bands; band++) {
        const bucket = buckets[band]!;
        const members = bucket.get(keys[band]!);
        if (members === undefined) bucket.set(keys[band]!, entry);
        else if (Array.isArray(members)) members.push(entry);
        else bucket.set(keys[band]!, [members, entry]);
      }
    },
    remove,
    has: (id) => byId.has(id),
    signatureOf: (id) => byId.get(id)?.signature,
    query(signature) {
      const keys = keysOf(signature);
      const found = new Set<Entry>();
      for (let band = 0; band < bands; band++) {
        const members = buckets[band]!.get(keys[band]!);
        if (Array.isArray(members)) for (const m of members) found.add(m);
        else if (members) found.add(members);
      }
      return [...found].sort((x, y) => x.seq - y.seq).map((e) => e.id);
    },
    *entries() {
      for (const e of byId.values()) yield [e.id, e.signature];
    },
  };
}
