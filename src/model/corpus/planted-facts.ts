import { seededRandom, type SeededRandom } from '../random.ts';
import { NameMaker, shuffled } from './invented-names.ts';
import { fillTemplate, RELATIONS, type Relation } from './synthetic-text.ts';

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

export const PET_ANIMALS = ['cat', 'dog', 'bird', 'fox', 'rabbit', 'frog', 'horse', 'owl'];


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
