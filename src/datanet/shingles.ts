/**
 * Text normalisation and shingling for near-duplicate detection: a text becomes the multiset of
 * 32-bit hashes of its shingles (word or character k-grams of its normalised form).
 */
import { murmur3 } from './murmur3.ts';

/** How a text is cut into shingles: word k-grams (the default), or character k-grams for short texts and languages written without spaces. */
export type ShingleOptions = { kind: 'words'; size: number } | { kind: 'chars'; size: number };

/** Word 3-grams: a changed word touches only 3 shingles, and a moved sentence only 2 per seam. */
export const DEFAULT_SHINGLE: ShingleOptions = Object.freeze({ kind: 'words', size: 3 });

const FORMAT_OR_APOSTROPHE = /[\p{Cf}'\u2019\u02bc]/gu;
const SEPARATORS = /[\p{P}\p{Z}\p{Cc}\s]+/gu;

/**
 * The normalised form of a text that shingles are cut from: Unicode NFKC and case-folded (lower,
 * upper, lower case, then NFKC again: so `ß`, `ẞ`, `SS` and `ss` agree, Greek final sigma is
 * consistent, and applying it twice changes nothing, which is checked for every code point),
 * invisible format characters (zero-width spaces and joiners, soft hyphens) and apostrophes
 * removed, every run of punctuation, whitespace and control characters replaced by one space,
 * and trimmed.
 *
 * @example
 * normalizeText('  Hello,   WORLD!\n(It’s me.)') // 'hello world its me'
 */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .normalize('NFKC')
    .replace(FORMAT_OR_APOSTROPHE, '')
    .replace(SEPARATORS, ' ')
    .trim();
}

const encoder = new TextEncoder();
let boundaries = new Int32Array(1024);

/**
 * The 32-bit hashes of a text's shingles, in text order (repeated shingles repeat): each shingle
 * is the UTF-8 of `size` consecutive words of the normalised text joined by one space (or `size`
 * consecutive code points of it, spaces included, for `chars`), hashed with
 * MurmurHash3_x86_32 and seed 0. A text shorter than one shingle is one shingle (all of it); a
 * text with nothing left after normalisation has none.
 *
 * @example
 * shingleHashes('The cat sat on the mat.') // 4 hashes: 'the cat sat', 'cat sat on', 'sat on the', 'on the mat'
 * shingleHashes('猫が座った', { kind: 'chars', size: 2 }) // 4 hashes
 */
export function shingleHashes(text: string, shingle: ShingleOptions = DEFAULT_SHINGLE): Uint32Array {
  const normalized = normalizeText(text);
  if (normalized.length === 0) return new Uint32Array(0);
  const bytes = encoder.encode(normalized);
  if (boundaries.length < bytes.length + 2) boundaries = new Int32Array(Math.max(bytes.length + 2, boundaries.length * 2));
  const k = shingle.size;
  if (shingle.kind === 'words') {
    // boundaries holds the start of each word; a word ends one byte before the next one starts.
    let words = 0;
    boundaries[words++] = 0;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x20) boundaries[words++] = i + 1;
    boundaries[words] = bytes.length + 1;
    if (words <= k) return Uint32Array.of(murmur3(bytes, 0, 0, bytes.length));
    const out = new Uint32Array(words - k + 1);
    for (let i = 0; i < out.length; i++) out[i] = murmur3(bytes, 0, boundaries[i]!, boundaries[i + k]! - 1);
    return out;
  }
  // chars: boundaries holds the byte offset of each code point (UTF-8 lead bytes), then the end.
  let points = 0;
  for (let i = 0; i < bytes.length; i++) if ((bytes[i]! & 0xc0) !== 0x80) boundaries[points++] = i;
  boundaries[points] = bytes.length;
  if (points <= k) return Uint32Array.of(murmur3(bytes, 0, 0, bytes.length));
  const out = new Uint32Array(points - k + 1);
  for (let i = 0; i < out.length; i++) out[i] = murmur3(bytes, 0, boundaries[i]!, boundaries[i + k]!);
  return out;
}

/**
 * The distinct values of `hashes`, sorted ascending (a new array): the shingle set that exact
 * Jaccard similarity is defined on.
 *
 * @example
 * shingleSet(Uint32Array.of(3, 1, 3)) // Uint32Array [1, 3]
 */
export function shingleSet(hashes: Uint32Array): Uint32Array {
  const sorted = hashes.slice().sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i]!;
  return sorted.subarray(0, n);
}

/**
 * Exact Jaccard similarity |A ∩ B| / |A ∪ B| of two shingle sets made by {@link shingleSet}
 * (sorted, distinct); 0 when both are empty.
 *
 * @example
 * exactJaccard(shingleSet(shingleHashes(a)), shingleSet(shingleHashes(b))) // 0.75
 */
export function exactJaccard(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      common++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  const union = a.length + b.length - common;
  return union === 0 ? 0 : common / union;
}
