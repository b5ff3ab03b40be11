/**
 * Words in attribution (src/util/words.ts defines them): spans are aligned to them and their
 * information content is what evidence weighs, so a fragment shared by two names ("Zorv" in
 * Zorvania and Zorvenia) is never evidence on its own.
 */
import { isWordChar, words, type Word } from '../util/words.ts';

/**
 * Which tokens of a text begin and end at word boundaries, from each token's character range:
 * a token starts at one when the character before it is not a word character or its own first
 * character is not; it ends at one when the character after it is not or its own last is not.
 *
 * @example
 * const { starts, ends } = wordBoundaries(text, tokenizer.pieceOffsets(ids));
 */
export function wordBoundaries(text: string, offsets: ReadonlyArray<readonly [number, number]>): { starts: Uint8Array; ends: Uint8Array } {
  const n = offsets.length;
  const starts = new Uint8Array(n), ends = new Uint8Array(n);
  for (let t = 0; t < n; t++) {
    const [s, e] = offsets[t]!;
    if (e <= s) continue; // a token with no characters of its own (part of a multi-byte character) is never a boundary
    starts[t] = !isWordChar(text, s - 1) || !isWordChar(text, s) ? 1 : 0;
    ends[t] = !isWordChar(text, e) || !isWordChar(text, e - 1) ? 1 : 0;
  }
  return { starts, ends };
}

/**
 * Shrinks a token span [start, end) to the longest part that begins and ends at word boundaries
 * (null when none does): what is left covers whole words only.
 *
 * @example
 * alignToWords(5, 12, starts, ends); // [6, 11]
 */
export function alignToWords(start: number, end: number, starts: Uint8Array, ends: Uint8Array): [number, number] | null {
  let s = start, e = end;
  while (s < e && !starts[s]) s++;
  while (e > s && !ends[e - 1]) e--;
  return s < e ? [s, e] : null;
}

/** A word with its information content: the surprisal (nats) its tokens had under the base model. */
export interface WeightedWord extends Word {
  weight: number;
}

/**
 * The words of a text, each weighted by the surprisal of its tokens (−log p of each token under
 * the base model, in context): the information the base model did not already have. Template
 * and function words score near 0, invented names and rare terms high. A token shared by several
 * words (or by a word and punctuation) gives each word the part of its surprisal in proportion to
 * the word characters it covers of them.
 *
 * @example
 * wordWeights(text, tokenizer.pieceOffsets(ids), surprisal); // [{ word: 'quillmere', weight: 9.1, … }, …]
 */
export function wordWeights(text: string, offsets: ReadonlyArray<readonly [number, number]>, surprisal: ArrayLike<number>): WeightedWord[] {
  if (offsets.length !== surprisal.length) throw new RangeError(`${offsets.length} token offsets but ${surprisal.length} surprisals`);
  const ws: WeightedWord[] = words(text).map((w) => ({ ...w, weight: 0 }));
  let k = 0;
  for (let t = 0; t < offsets.length; t++) {
    const [s, e] = offsets[t]!;
    if (e <= s) continue;
    while (k < ws.length && ws[k]!.end <= s) k++;
    let wordChars = 0;
    for (let j = k; j < ws.length && ws[j]!.start < e; j++) wordChars += Math.min(e, ws[j]!.end) - Math.max(s, ws[j]!.start);
    if (wordChars === 0) continue;
    for (let j = k; j < ws.length && ws[j]!.start < e; j++) ws[j]!.weight += (surprisal[t]! * (Math.min(e, ws[j]!.end) - Math.max(s, ws[j]!.start))) / wordChars;
  }
  return ws;
}
