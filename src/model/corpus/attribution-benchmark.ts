import { seededRandom, type SeededRandom } from '../random.ts';
import { NameMaker, pickOne, shuffled } from './invented-names.ts';
import { PET_ANIMALS, type PlantedFact, type PlantedRecord } from './planted-facts.ts';
import { fillTemplate, RELATIONS, type Relation } from './synthetic-text.ts';

/**
 * A datanet built to make attribution hard, and its questions. Facts come in clusters whose
 * members look alike on purpose:
 *
 * - **same entity, another attribute**: Zorvania's capital and Zorvania's language;
 * - **another entity, the same value**: Quillmere is Zorvania's capital and Bram's home town;
 * - **near-miss names**: Zorvenia (one letter from Zorvania) has a capital of its own;
 * - **split copies**: some facts are contributed again, in other words, by another contributor
 *   later (what grouping must pay once).
 *
 * Each fact has several training records (paraphrases by its contributor) and questions of two
 * kinds: `trained` (worded exactly as one of its training records) and `paraphrased` (a wording no
 * training record of that fact uses). An attribution is right when it credits the fact's records;
 * the records of the fact's cluster are its distractors.
 */

export type BenchmarkRelation = Relation['name'];

/** A fact, its cluster, and the facts built to look like it. */
export interface BenchmarkFact extends PlantedFact {
  cluster: number;
  /** Facts sharing its subject or object, or with a near-miss subject: what attribution must not credit for it. */
  distractors: string[];
}

/** A contribution: one question and answer about one fact, in contribution order (`order` 0 first). */
export interface BenchmarkRecord extends PlantedRecord {
  order: number;
  /** Set on records that restate, in other words, a fact another contributor gave earlier. */
  copyOf?: string;
}

/** A question about a fact and the answer its records give. */
export interface BenchmarkQuery {
  factId: string;
  kind: 'trained' | 'paraphrased';
  prompt: string;
  /** The reference answer (a training record's answer for `trained`, a held-out answer wording otherwise). */
  response: string;
}

export interface AttributionBenchmark {
  facts: BenchmarkFact[];
  /** The datanet's contributions, in contribution order. */
  records: BenchmarkRecord[];
  queries: BenchmarkQuery[];
}

export interface AttributionBenchmarkOptions {
  seed: number;
  /** Clusters of look-alike facts (each 3–4 facts). Default 10. */
  clusters?: number;
  /** Training records per fact from its contributor. Default 3 (at most 3). */
  recordsPerFact?: number;
  /** Share of facts contributed again by another contributor (two more paraphrases). Default 0.25. */
  copyFraction?: number;
  /** Contributors. Default 8. */
  contributors?: number;
}

/** Bad options for {@link generateAttributionBenchmark}. */
export class AttributionBenchmarkError extends Error {
  override name = 'AttributionBenchmarkError';
}

const relation = (name: BenchmarkRelation): Relation => RELATIONS.find((r) => r.name === name)!;

interface FactSeed { relation: BenchmarkRelation; subject: string; object: string; animal?: string }

/** One cluster's facts: a central entity with two attributes, another entity sharing a value, a near-miss entity. */
function clusterFacts(kind: number, names: NameMaker, rng: SeededRandom): FactSeed[] {
  const animal = () => pickOne(rng, PET_ANIMALS);
  switch (kind % 3) {
    case 0: {
      // a country: its capital and language; a person living in the capital; a near-miss country
      const country = names.make('country'), capital = names.make('city');
      const out: FactSeed[] = [
        { relation: 'capital', subject: country, object: capital },
        { relation: 'language', subject: country, object: names.make('language') },
        { relation: 'home', subject: names.make('person'), object: capital },
      ];
      const near = names.nearMiss(country);
      if (near) out.push({ relation: 'capital', subject: near, object: names.make('city') });
      return out;
    }
    case 1: {
      // a person: home town and pet; the person built a device; a near-miss person's home
      const person = names.make('person');
      const out: FactSeed[] = [
        { relation: 'home', subject: person, object: names.make('city') },
        { relation: 'pet', subject: person, object: names.make('pet'), animal: animal() },
        { relation: 'builder', subject: names.make('device'), object: person },
      ];
      const near = names.nearMiss(person);
      if (near) out.push({ relation: 'home', subject: near, object: names.make('city') });
      return out;
    }
    default: {
      // a device and its builder; a near-miss device by someone else; two pets with one name
      const device = names.make('device'), pet = names.make('pet');
      const out: FactSeed[] = [
        { relation: 'builder', subject: device, object: names.make('person') },
        { relation: 'pet', subject: names.make('person'), object: pet, animal: animal() },
        { relation: 'pet', subject: names.make('person'), object: pet, animal: animal() },
      ];
      const near = names.nearMiss(device);
      if (near) out.push({ relation: 'builder', subject: near, object: names.make('person') });
      return out;
    }
  }
}

/**
 * Generates the benchmark datanet and its questions. The same options always give the same data.
 *
 * @example
 * const { facts, records, queries } = generateAttributionBenchmark({ seed: 1 });
 * queries.filter((q) => q.kind === 'paraphrased');
 */
export function generateAttributionBenchmark(options: AttributionBenchmarkOptions): AttributionBenchmark {
  const clusters = options.clusters ?? 10;
  const perFact = options.recordsPerFact ?? 3;
  const copyFraction = options.copyFraction ?? 0.25;
  const contributors = options.contributors ?? 8;
  if (!Number.isInteger(options.seed)) throw new AttributionBenchmarkError(`seed must be an integer, got ${String(options.seed)}`);
  if (!Number.isInteger(clusters) || clusters < 1 || clusters > 10_000) throw new AttributionBenchmarkError(`clusters must be an integer from 1 to 10000, got ${String(clusters)}`);
  if (!Number.isInteger(perFact) || perFact < 1 || perFact > 3) throw new AttributionBenchmarkError(`recordsPerFact must be an integer from 1 to 3, got ${String(perFact)}`);
  if (!(copyFraction >= 0 && copyFraction <= 1)) throw new AttributionBenchmarkError(`copyFraction must be in [0, 1], got ${String(copyFraction)}`);
  if (!Number.isInteger(contributors) || contributors < 2) throw new AttributionBenchmarkError(`contributors must be an integer ≥ 2, got ${String(contributors)}`);

  const rng = seededRandom(options.seed);
  const names = new NameMaker(rng);
  const facts: BenchmarkFact[] = [];
  for (let c = 0; c < clusters; c++) {
    const seeds = clusterFacts(c, names, rng);
    const first = facts.length;
    seeds.forEach((s, k) => facts.push({ id: `fact-${String(first + k).padStart(4, '0')}`, cluster: c, ...s, contributor: `contributor-${rng.int(contributors)}`, distractors: [] }));
    const members = facts.slice(first);
    for (const f of members) f.distractors = members.filter((g) => g !== f).map((g) => g.id);
  }

  const records: BenchmarkRecord[] = [];
  const copies: BenchmarkRecord[] = [];
  const queries: BenchmarkQuery[] = [];
  for (const fact of facts) {
    const r = relation(fact.relation);
    const values = { S: fact.subject, O: fact.object, A: fact.animal };
    // 6 question wordings: 0-2 the contributor's records, 3 the paraphrased question (no record uses it), 4-5 a copier's
    const questions = shuffled(rng, r.questions);
    const answers = shuffled(rng, r.answers);
    const say = (k: number) => ({ prompt: fillTemplate(questions[k]!, values), response: fillTemplate(answers[k % answers.length]!, values) });
    for (let k = 0; k < perFact; k++) records.push({ id: `${fact.id}-${k}`, factId: fact.id, contributor: fact.contributor, ...say(k), split: 'train', order: 0 });
    const copied = rng.next() < copyFraction;
    if (copied) {
      const copier = `contributor-${(Number(fact.contributor.slice('contributor-'.length)) + 1 + rng.int(contributors - 1)) % contributors}`;
      for (const k of [4, 5]) copies.push({ id: `${fact.id}-copy-${k}`, factId: fact.id, contributor: copier, ...say(k), split: 'train', order: 0, copyOf: fact.id });
    }
    const trained = records.find((x) => x.factId === fact.id)!;
    queries.push({ factId: fact.id, kind: 'trained', prompt: trained.prompt, response: trained.response });
    queries.push({ factId: fact.id, kind: 'paraphrased', ...say(3) });
  }
  // contributions arrive shuffled within the originals; copies come after what they copy
  const ordered = [...shuffled(rng, records), ...shuffled(rng, copies)];
  ordered.forEach((r, i) => (r.order = i));
  return { facts, records: ordered, queries };
}
