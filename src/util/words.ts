/**
 * Words, as openledger counts them: maximal runs of letters, digits and combining marks (any
 * script), lower-cased.
 */

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** Whether the character at `i` is part of a word. */
export function isWordChar(text: string, i: number): boolean {
  return i >= 0 && i < text.length && WORD_CHAR.test(text[i]!);
}

/** One word of a text: lower-cased, with its character range [start, end). */
export interface Word {
  word: string;
  start: number;
  end: number;
}

/**
 * The words of a text, in order.
 *
 * @example
 * words('The capital of Zorvania is Quillmere.'); // [{ word: 'the', start: 0, end: 3 }, …, { word: 'quillmere', start: 27, end: 36 }]
 */
export function words(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(WORD)) out.push({ word: m[0].toLowerCase(), start: m.index, end: m.index + m[0].length });
  return out;
}
