import type { SeededRandom } from '../random.ts';
import { syntheticVocabulary } from './synthetic-text.ts';

const ONSETS = ['b', 'br', 'd', 'dr', 'f', 'g', 'gl', 'k', 'kr', 'l', 'm', 'n', 'p', 'pl', 'qu', 'r', 's', 'st', 't', 'th', 'v', 'z', 'sk', 'tr'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'a', 'e', 'o', 'y'];
const CODAS = ['', 'n', 'r', 'l', 'm', 'x', 'nd', 'lt'];
/** How each kind of name is put together: syllables of an onset, a vowel and a coda, then an ending. */
const NAME_SHAPES = {
  country: { syllables: 1, link: true, endings: ['ania', 'ovia', 'istan', 'eria', 'onia', 'avia'] },
  city: { syllables: 1, link: false, endings: ['mere', 'ford', 'holm', 'wick', 'dale', 'port', 'burg', 'haven'] },
  language: { syllables: 1, link: true, endings: ['ese', 'ish', 'ic', 'ian'] },
  device: { syllables: 2, link: false, endings: ['scope', 'wheel', 'loom', 'horn', 'gear', 'pump'] },
  person: { syllables: 2, link: false, endings: ['', '', 'a', 'o', 'en', 'ric', 'us'] },
  pet: { syllables: 1, link: false, endings: ['y', 'o', 'i', 'ble', 'kin'] },
} as const;
export type NameKind = keyof typeof NAME_SHAPES;

export function pickOne<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

export function shuffled<T>(rng: SeededRandom, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Invents pronounceable names, each used once and none a word of the synthetic pre-training
 * corpus (nor starting with one), so whatever a model knows about them comes from its fine-tuning
 * data.
 *
 * @example
 * const names = new NameMaker(seededRandom(1));
 * const country = names.make('country'); // 'Zorvania'
 * names.nearMiss(country);                 // 'Zorvenia': one letter apart, also unused
 */
export class NameMaker {
  readonly #rng: SeededRandom;
  readonly #used = new Set<string>();
  readonly #taken = syntheticVocabulary();
  /** Extra syllables per kind, added when short names of that kind run out. */
  readonly #extra = new Map<NameKind, number>();

  constructor(rng: SeededRandom) {
    this.#rng = rng;
  }

  make(kind: NameKind): string {
    const rng = this.#rng;
    const shape = NAME_SHAPES[kind];
    for (let attempt = 1; ; attempt++) {
      if (attempt % 200 === 0) this.#extra.set(kind, (this.#extra.get(kind) ?? 0) + 1);
      const syllables = shape.syllables + (this.#extra.get(kind) ?? 0);
      let word = '';
      for (let i = 0; i < syllables; i++) word += pickOne(rng, ONSETS) + pickOne(rng, VOWELS) + pickOne(rng, CODAS);
      // Endings that start with a vowel get a consonant in front ("Zor" + "v" + "ania").
      if (shape.link) word += pickOne(rng, ONSETS);
      word += pickOne(rng, shape.endings);
      if (word.length < 5 || word.length > 12 + 3 * (syllables - shape.syllables) || !this.#claim(word)) continue;
      return kind === 'device' ? word : word.charAt(0).toUpperCase() + word.slice(1);
    }
  }

  /**
   * A new name one letter away from `name` (a vowel changed, or the first consonant swapped):
   * the near-miss names that share most of their pieces with another entity's. Null when no
   * unused variant exists.
   */
  nearMiss(name: string): string | null {
    const rng = this.#rng;
    const lower = name.toLowerCase();
    const vowels = [...lower].flatMap((ch, i) => ('aeiouy'.includes(ch) ? [i] : []));
    const candidates: string[] = [];
    for (const i of vowels) for (const v of 'aeiou') if (v !== lower[i]) candidates.push(lower.slice(0, i) + v + lower.slice(i + 1));
    for (const c of 'bdfgklmnprstvz') if (c !== lower[0]) candidates.push(c + lower.slice(1));
    for (const word of shuffled(rng, candidates)) {
      if (!this.#claim(word)) continue;
      return name[0] === name[0]!.toUpperCase() ? word.charAt(0).toUpperCase() + word.slice(1) : word;
    }
    return null;
  }

  /** Marks a name used, when it is free, not a corpus word, and has no letter three times in a row. */
  #claim(word: string): boolean {
    const key = word.toLowerCase();
    if (this.#used.has(key) || this.#startsWithCorpusWord(key) || /(.)\1\1/.test(key)) return false;
    this.#used.add(key);
    return true;
  }

  /** Whether the name is a corpus word or starts with one of three letters or more ("Tomwick"). */
  #startsWithCorpusWord(name: string): boolean {
    for (let n = 3; n <= name.length; n++) if (this.#taken.has(name.slice(0, n))) return true;
    return false;
  }
}
