import { seededRandom, type SeededRandom } from '../random.ts';
import { fillTemplate, RELATIONS, syntheticVocabulary, type Relation } from './synthetic-text.ts';

/**
 * A seeded, datanet-shaped set of contributions that plant facts the base model cannot know: each
 * fact links invented names (never words of the synthetic pre-training text), and each
 * contribution is one paraphrased question/answer about one fact. Some paraphrases of every fact
 * are held out, so a fine-tune can be shown to generalise (held-out loss drops) and attribution
 * can be checked (a prompt about a fact must rank that fact's contributions first).
 */

/** One planted fact. */
export interface PlantedFact {
  id: string;
  relation: Relation['name'];
  /** The invented subject (a country, a device or a person). */
  subject: string;
  /** The invented answer (a city, a language, a person, a pet's name or a town). */
  object: string;
  /** The kind of animal, for the 'pet' relation. */
  animal?: string;
  /** Who contributed this fact's records. */
  contributor: string;
}

/** One contribution: a question and its answer about one fact. */
export interface PlantedRecord {
  id: string;
  /** The fact this record plants. */
  factId: string;
  contributor: string;
  prompt: string;
  response: string;
  split: 'train' | 'heldout';
}

/** The generated facts and their records, split into training and held-out records. */
export interface PlantedDataset {
  facts: PlantedFact[];
  train: PlantedRecord[];
  heldOut: PlantedRecord[];
}

/** Options for {@link generatePlantedFacts}. */
export interface PlantedFactsOptions {
  seed: number;
  /** Number of facts. Default 40. */
  facts?: number;
  /** Records (distinct question wordings) per fact, held-out ones included. Default 5, at most 6. */
  paraphrasesPerFact?: number;
  /** Of those, how many are held out. Default 1; fewer than paraphrasesPerFact. */
  heldOutPerFact?: number;
  /** Number of contributors the facts are spread over. Default 4. */
  contributors?: number;
}

/** Bad options for {@link generatePlantedFacts}. */
export class PlantedFactsError extends Error {
  override name = 'PlantedFactsError';
}

const PET_ANIMALS = ['cat', 'dog', 'bird', 'fox', 'rabbit', 'frog', 'horse', 'owl'];
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
type NameKind = keyof typeof NAME_SHAPES;

/**
 * Generates the facts and their paraphrased records. The same options always give the same data.
 *
 * @example
 * const { facts, train, heldOut } = generatePlantedFacts({ seed: 7, facts: 20 });
 * train[0]; // { id: 'fact-000-1', factId: 'fact-000', prompt: 'What is the capital of Zorvania?', response: 'The capital of Zorvania is Quillmere.', … }
 */
export function generatePlantedFacts(options: PlantedFactsOptions): PlantedDataset {
  const count = options.facts ?? 40;
  const perFact = options.paraphrasesPerFact ?? 5;
  const heldOutPerFact = options.heldOutPerFact ?? 1;
  const contributors = options.contributors ?? 4;
  const maxQuestions = Math.min(...RELATIONS.map((r) => r.questions.length));
  if (!Number.isInteger(options.seed)) throw new PlantedFactsError(`seed must be an integer, got ${String(options.seed)}`);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new PlantedFactsError(`facts must be an integer from 1 to 100000, got ${String(count)}`);
  if (!Number.isInteger(perFact) || perFact < 2 || perFact > maxQuestions) {
    throw new PlantedFactsError(`paraphrasesPerFact must be an integer from 2 to ${maxQuestions}, got ${String(perFact)}`);
  }
  if (!Number.isInteger(heldOutPerFact) || heldOutPerFact < 0 || heldOutPerFact >= perFact) {
    throw new PlantedFactsError(`heldOutPerFact must be an integer from 0 to ${perFact - 1}, got ${String(heldOutPerFact)}`);
  }
  if (!Number.isInteger(contributors) || contributors < 1) throw new PlantedFactsError(`contributors must be a positive integer, got ${String(contributors)}`);

  const rng = seededRandom(options.seed);
  const names = new NameMaker(rng);
  const facts: PlantedFact[] = [];
  const train: PlantedRecord[] = [];
  const heldOut: PlantedRecord[] = [];
  const idWidth = Math.max(3, String(count - 1).length);
  for (let i = 0; i < count; i++) {
    const relation = RELATIONS[rng.int(RELATIONS.length)]!;
    const fact: PlantedFact = { id: `fact-${String(i).padStart(idWidth, '0')}`, relation: relation.name, ...inventFact(relation, names, rng), contributor: `contributor-${rng.int(contributors)}` };
    facts.push(fact);
    const questions = shuffled(rng, relation.questions).slice(0, perFact);
    const answers = shuffled(rng, relation.answers);
    const values = { S: fact.subject, O: fact.object, A: fact.animal };
    questions.forEach((question, k) => {
      const heldOutRecord = k >= perFact - heldOutPerFact;
      const record: PlantedRecord = {
        id: `${fact.id}-${k}`,
        factId: fact.id,
        contributor: fact.contributor,
        prompt: fillTemplate(question, values),
        response: fillTemplate(answers[k % answers.length]!, values),
        split: heldOutRecord ? 'heldout' : 'train',
      };
      (heldOutRecord ? heldOut : train).push(record);
    });
  }
  return { facts, train, heldOut };
}

function inventFact(relation: Relation, names: NameMaker, rng: SeededRandom): { subject: string; object: string; animal?: string } {
  switch (relation.name) {
    case 'capital':
      return { subject: names.make('country'), object: names.make('city') };
    case 'language':
      return { subject: names.make('country'), object: names.make('language') };
    case 'builder':
      return { subject: names.make('device'), object: names.make('person') };
    case 'pet':
      return { subject: names.make('person'), object: names.make('pet'), animal: PET_ANIMALS[rng.int(PET_ANIMALS.length)]! };
    case 'home':
      return { subject: names.make('person'), object: names.make('city') };
  }
}

/** Invents pronounceable names, each used once and none a word of the synthetic corpus. */
class NameMaker {
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
      const key = word.toLowerCase();
      if (word.length < 5 || word.length > 12 + 3 * (syllables - shape.syllables) || this.#used.has(key) || this.#startsWithCorpusWord(key) || /(.)\1\1/.test(key)) continue;
      this.#used.add(key);
      return kind === 'device' ? word : word.charAt(0).toUpperCase() + word.slice(1);
    }
  }

  /** Whether the name is a corpus word or starts with one of three letters or more ("Tomwick"). */
  #startsWithCorpusWord(name: string): boolean {
    for (let n = 3; n <= name.length; n++) if (this.#taken.has(name.slice(0, n))) return true;
    return false;
  }
}

function pickOne<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function shuffled<T>(rng: SeededRandom, items: readonly T[]): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
