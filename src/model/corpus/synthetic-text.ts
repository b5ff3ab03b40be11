import { seededRandom, type SeededRandom } from '../random.ts';

/**
 * Seeded generator of simple English for pre-training the tiny base model: short stories, simple
 * factual statements and question/answer pairs in the instruction template the fine-tuned models
 * use. The vocabulary is a few hundred words so a model of a few million parameters can learn it;
 * the same seed always gives the same documents.
 */

/** The instruction template: a question line, then an answer line. */
export const QUESTION_PREFIX = '### Question: ';
export const ANSWER_PREFIX = '### Answer:';

/**
 * The prompt part of an instruction example: what a model is given before it answers.
 *
 * @example
 * formatQuestion('What is the capital of France?'); // '### Question: What is the capital of France?\n### Answer:'
 */
export function formatQuestion(prompt: string): string {
  return `${QUESTION_PREFIX}${prompt}\n${ANSWER_PREFIX}`;
}

/**
 * A whole instruction example. The response starts after `formatQuestion(prompt)`, so a loss can
 * be restricted to `text.slice(formatQuestion(prompt).length)`.
 *
 * @example
 * formatInstruction('What is two plus two?', 'Two plus two is four.');
 * // '### Question: What is two plus two?\n### Answer: Two plus two is four.\n'
 */
export function formatInstruction(prompt: string, response: string): string {
  return `${formatQuestion(prompt)} ${response}\n`;
}

/**
 * A relation between a subject and an object, with the ways a question about it and its answer are
 * worded. `{S}` and `{O}` stand for the subject and the object; `{A}` for an animal (pet relation).
 * The base corpus uses these with ordinary names and places; planted facts use them with invented
 * ones, so a base model already knows how such questions are asked and answered.
 */
export interface Relation {
  name: 'capital' | 'language' | 'builder' | 'pet' | 'home';
  questions: readonly string[];
  answers: readonly string[];
}

export const RELATIONS: readonly Relation[] = [
  {
    name: 'capital',
    questions: ['What is the capital of {S}?', 'Which city is the capital of {S}?', 'Name the capital city of {S}.', 'What city is the capital of {S}?', 'Tell me the capital of {S}.', 'Do you know the capital of {S}?'],
    answers: ['The capital of {S} is {O}.', '{O} is the capital of {S}.', 'The capital city of {S} is {O}.'],
  },
  {
    name: 'language',
    questions: ['What language do people speak in {S}?', 'Which language is spoken in {S}?', 'What do people in {S} speak?', 'Tell me the language of {S}.', 'What is the language of {S}?', 'In {S}, what language do people speak?'],
    answers: ['People in {S} speak {O}.', 'The language of {S} is {O}.', 'In {S}, people speak {O}.'],
  },
  {
    name: 'builder',
    questions: ['Who built the {S}?', 'Who made the {S}?', 'Tell me who built the {S}.', 'Which person built the {S}?', 'Who was the maker of the {S}?', 'Do you know who made the {S}?'],
    answers: ['The {S} was built by {O}.', '{O} built the {S}.', '{O} made the {S}.'],
  },
  {
    name: 'pet',
    questions: ['What is the name of the {A} of {S}?', 'What is the {A} of {S} called?', 'Tell me the name of the {A} of {S}.', 'What did {S} name the {A}?', 'Which name did {S} give the {A}?', 'Do you know the name of the {A} of {S}?'],
    answers: ['The {A} of {S} is called {O}.', '{S} has a {A} named {O}.', 'The name of the {A} of {S} is {O}.'],
  },
  {
    name: 'home',
    questions: ['Where does {S} live?', 'In which town does {S} live?', 'Tell me where {S} lives.', 'What town does {S} live in?', 'Which town is the home of {S}?', 'Do you know where {S} lives?'],
    answers: ['{S} lives in {O}.', 'The home of {S} is {O}.', '{S} lives in the town of {O}.'],
  },
];

/**
 * Fills a relation template.
 *
 * @example
 * fillTemplate('The capital of {S} is {O}.', { S: 'France', O: 'Paris' }); // 'The capital of France is Paris.'
 */
export function fillTemplate(template: string, values: { S: string; O: string; A?: string }): string {
  return template.replaceAll('{S}', values.S).replaceAll('{O}', values.O).replaceAll('{A}', values.A ?? 'pet');
}

type Gender = 'he' | 'she';
const NAMES: ReadonlyArray<[string, Gender]> = [
  ['Tom', 'he'], ['Lily', 'she'], ['Sam', 'he'], ['Mia', 'she'], ['Ben', 'he'], ['Anna', 'she'], ['Max', 'he'], ['Lucy', 'she'],
  ['Jack', 'he'], ['Emma', 'she'], ['Leo', 'he'], ['Zoe', 'she'], ['Tim', 'he'], ['Sara', 'she'], ['Dan', 'he'], ['Kate', 'she'],
  ['Finn', 'he'], ['Ella', 'she'], ['Joe', 'he'], ['Amy', 'she'],
];
interface Animal { one: string; many: string; sound: string; can: string; eats: string; home: string; legs: string }
const ANIMALS: readonly Animal[] = [
  { one: 'cat', many: 'cats', sound: 'meow', can: 'climb trees', eats: 'fish', home: 'house', legs: 'four' },
  { one: 'dog', many: 'dogs', sound: 'woof', can: 'run fast', eats: 'meat', home: 'house', legs: 'four' },
  { one: 'bird', many: 'birds', sound: 'tweet', can: 'fly', eats: 'seeds', home: 'nest', legs: 'two' },
  { one: 'fox', many: 'foxes', sound: 'yip', can: 'dig holes', eats: 'berries', home: 'forest', legs: 'four' },
  { one: 'rabbit', many: 'rabbits', sound: 'squeak', can: 'hop', eats: 'carrots', home: 'field', legs: 'four' },
  { one: 'frog', many: 'frogs', sound: 'ribbit', can: 'jump', eats: 'bugs', home: 'pond', legs: 'four' },
  { one: 'bear', many: 'bears', sound: 'growl', can: 'climb trees', eats: 'honey', home: 'forest', legs: 'four' },
  { one: 'duck', many: 'ducks', sound: 'quack', can: 'swim', eats: 'bread', home: 'pond', legs: 'two' },
  { one: 'horse', many: 'horses', sound: 'neigh', can: 'run fast', eats: 'hay', home: 'farm', legs: 'four' },
  { one: 'mouse', many: 'mice', sound: 'squeak', can: 'hide', eats: 'cheese', home: 'house', legs: 'four' },
  { one: 'owl', many: 'owls', sound: 'hoot', can: 'see at night', eats: 'mice', home: 'tree', legs: 'two' },
  { one: 'cow', many: 'cows', sound: 'moo', can: 'give milk', eats: 'grass', home: 'farm', legs: 'four' },
  { one: 'pig', many: 'pigs', sound: 'oink', can: 'roll in mud', eats: 'apples', home: 'farm', legs: 'four' },
  { one: 'sheep', many: 'sheep', sound: 'baa', can: 'grow wool', eats: 'grass', home: 'farm', legs: 'four' },
  { one: 'fish', many: 'fish', sound: 'blub', can: 'swim', eats: 'bugs', home: 'river', legs: 'no' },
];
const PLACES = ['park', 'forest', 'river', 'town', 'school', 'garden', 'beach', 'farm', 'kitchen', 'hill', 'lake', 'market', 'library', 'field', 'shop', 'pond'];
const OBJECTS = ['ball', 'kite', 'book', 'hat', 'box', 'boat', 'cup', 'key', 'map', 'cake', 'drum', 'shell', 'stone', 'coin', 'bag', 'toy', 'flower', 'lamp', 'bell', 'sled'];
const COLORS = ['red', 'blue', 'green', 'yellow', 'white', 'black', 'brown', 'pink', 'orange', 'purple', 'gray'];
const SIZES = ['big', 'small', 'old', 'new', 'tiny', 'long', 'soft', 'shiny', 'funny', 'pretty'];
const FEELINGS = ['happy', 'sad', 'angry', 'scared', 'tired', 'proud', 'excited', 'calm', 'hungry', 'sleepy'];
const WEATHER = ['sunny', 'rainy', 'windy', 'cold', 'warm', 'cloudy'];
const TIMES = ['One day', 'In the morning', 'After lunch', 'That evening', 'Later', 'The next day', 'At night', 'Soon'];
const FOODS = ['bread', 'soup', 'cheese', 'rice', 'cookies', 'pie', 'jam', 'eggs', 'apples', 'honey'];
const SPOTS = ['a tree', 'the bed', 'the table', 'a bridge', 'a big rock', 'the stairs'];
const VERBS: ReadonlyArray<[string, string]> = [
  ['play with', 'played with'], ['look at', 'looked at'], ['find', 'found'], ['paint', 'painted'], ['carry', 'carried'],
  ['hide', 'hid'], ['open', 'opened'], ['throw', 'threw'], ['share', 'shared'], ['clean', 'cleaned'], ['fix', 'fixed'], ['keep', 'kept'],
];
const NUMBERS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen', 'twenty'];
const COLOR_MIXES: ReadonlyArray<[string, string, string]> = [['blue', 'yellow', 'green'], ['red', 'white', 'pink'], ['red', 'yellow', 'orange'], ['red', 'blue', 'purple'], ['black', 'white', 'gray']];
const THINGS_COLORS: ReadonlyArray<[string, string]> = [['The sky', 'blue'], ['Grass', 'green'], ['Snow', 'white'], ['The sun', 'yellow'], ['A lemon', 'yellow'], ['Milk', 'white'], ['Coal', 'black'], ['A carrot', 'orange'], ['A strawberry', 'red'], ['The sea', 'blue']];
const SIMPLE_TRUTHS = [
  'A week has seven days.', 'A year has twelve months.', 'The sun is hot.', 'Ice is cold.', 'Water is wet.', 'Fire is hot.',
  'The night is dark.', 'The moon comes out at night.', 'Rain falls from the clouds.', 'A day has a morning and an evening.',
  'Trees grow from seeds.', 'Fish live in water.', 'Birds build nests.', 'Bees make honey.', 'Cows give milk.', 'Hens lay eggs.',
];
// Real countries with their capitals and languages: ordinary subjects for the relation templates.
const COUNTRIES: ReadonlyArray<[string, string, string]> = [
  ['France', 'Paris', 'French'], ['Japan', 'Tokyo', 'Japanese'], ['Italy', 'Rome', 'Italian'], ['Spain', 'Madrid', 'Spanish'],
  ['Germany', 'Berlin', 'German'], ['Greece', 'Athens', 'Greek'], ['Poland', 'Warsaw', 'Polish'], ['Russia', 'Moscow', 'Russian'],
  ['China', 'Beijing', 'Chinese'], ['Egypt', 'Cairo', 'Arabic'], ['Peru', 'Lima', 'Spanish'], ['Norway', 'Oslo', 'Norwegian'],
  ['Ireland', 'Dublin', 'English'], ['Austria', 'Vienna', 'German'], ['Portugal', 'Lisbon', 'Portuguese'], ['Turkey', 'Ankara', 'Turkish'],
];
// Small towns for the "home" relation.
const TOWNS = ['Paris', 'Rome', 'Dublin', 'Oslo', 'Lima', 'Vienna', 'Lisbon', 'Athens', 'Berlin', 'Madrid'];

/** Kinds of generated document. */
export type DocumentKind = 'story' | 'facts' | 'qa';

/** One generated document. */
export interface SyntheticDocument {
  kind: DocumentKind;
  text: string;
}

/** Options for {@link syntheticDocuments}. */
export interface SyntheticTextOptions {
  seed: number;
  /** Relative weights of the document kinds. Default: stories 0.5, facts 0.2, question/answer pairs 0.3. */
  mix?: Partial<Record<DocumentKind, number>>;
}

/** Bad options for the generators. */
export class SyntheticTextError extends Error {
  override name = 'SyntheticTextError';
}

/**
 * An endless, seeded stream of documents. Take as many as needed; nothing is held in memory.
 *
 * @example
 * const docs = syntheticDocuments({ seed: 1 });
 * const first = docs.next().value; // { kind: 'story', text: 'Once upon a time, …' }
 */
export function syntheticDocuments(options: SyntheticTextOptions): Generator<SyntheticDocument, never, undefined> {
  if (!Number.isInteger(options.seed)) throw new SyntheticTextError(`seed must be an integer, got ${String(options.seed)}`);
  const weights = { story: 0.5, facts: 0.2, qa: 0.3, ...options.mix };
  const kinds: DocumentKind[] = ['story', 'facts', 'qa'];
  const total = kinds.reduce((s, k) => s + weights[k], 0);
  if (!kinds.every((k) => Number.isFinite(weights[k]) && weights[k] >= 0) || !(total > 0)) {
    throw new SyntheticTextError('mix weights must be non-negative numbers with a positive sum');
  }
  return generateDocuments(seededRandom(options.seed), kinds, weights, total);
}

function* generateDocuments(rng: SeededRandom, kinds: DocumentKind[], weights: Record<DocumentKind, number>, total: number): Generator<SyntheticDocument, never, undefined> {
  for (;;) {
    let r = rng.next() * total;
    let kind: DocumentKind = 'qa';
    for (const k of kinds) {
      if (r < weights[k]) {
        kind = k;
        break;
      }
      r -= weights[k];
    }
    const text = kind === 'story' ? story(rng) : kind === 'facts' ? facts(rng) : questionAnswer(rng);
    yield { kind, text };
  }
}

/** Options for {@link syntheticCorpus}. */
export interface SyntheticCorpusOptions extends SyntheticTextOptions {
  /** Stop once this many characters (separators included) have been produced. */
  maxChars: number;
  /** Appended after each document. Default `<|endoftext|>`, the end-of-text token of the trained tokenizer. */
  separator?: string;
}

/**
 * Training text: documents each followed by the separator, until `maxChars` characters.
 *
 * @example
 * for (const chunk of syntheticCorpus({ seed: 1, maxChars: 5_000_000 })) trainer.feed(chunk);
 */
export function syntheticCorpus(options: SyntheticCorpusOptions): Generator<string, void, undefined> {
  if (!(options.maxChars >= 0)) throw new SyntheticTextError(`maxChars must be a non-negative number, got ${String(options.maxChars)}`);
  return generateCorpus(syntheticDocuments(options), options.maxChars, options.separator ?? '<|endoftext|>');
}

function* generateCorpus(docs: Iterable<SyntheticDocument>, maxChars: number, separator: string): Generator<string, void, undefined> {
  let produced = 0;
  for (const doc of docs) {
    if (produced >= maxChars) return;
    const chunk = doc.text + separator;
    produced += chunk.length;
    yield chunk;
  }
}

/**
 * Every word (lower case) the generators can produce. Planted facts use names outside it.
 *
 * @example
 * syntheticVocabulary().has('paris'); // true
 */
export function syntheticVocabulary(): ReadonlySet<string> {
  vocabulary ??= collectVocabulary();
  return vocabulary;
}

let vocabulary: ReadonlySet<string> | undefined;

function collectVocabulary(): ReadonlySet<string> {
  const texts: string[] = [...PLACES, ...OBJECTS, ...COLORS, ...SIZES, ...FEELINGS, ...WEATHER, ...TIMES, ...FOODS, ...SPOTS, ...NUMBERS, ...TOWNS];
  for (const [name] of NAMES) texts.push(name);
  for (const a of ANIMALS) texts.push(...Object.values(a));
  for (const v of VERBS) texts.push(...v);
  for (const c of COUNTRIES) texts.push(...c);
  for (const t of THINGS_COLORS) texts.push(...t);
  for (const r of RELATIONS) texts.push(...r.questions, ...r.answers);
  // The lists above hold every word that fills a slot; the words written into the templates
  // themselves are collected from a sample in which every template occurs many times.
  const rng = seededRandom(0);
  for (let i = 0; i < 3000; i++) texts.push(story(rng), facts(rng), questionAnswer(rng));
  const words = new Set<string>();
  for (const text of texts) for (const m of text.replace(/\{[SOA]\}/g, ' ').toLowerCase().matchAll(/\p{L}+/gu)) words.add(m[0]);
  return words;
}

// ---- stories ---------------------------------------------------------------------------------

function pick<T>(rng: SeededRandom, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

interface Character { name: string; he: string; his: string; him: string }

function character(rng: SeededRandom, not?: string): Character {
  let entry = pick(rng, NAMES);
  while (entry[0] === not) entry = pick(rng, NAMES);
  const [name, g] = entry;
  return g === 'he' ? { name, he: 'he', his: 'his', him: 'him' } : { name, he: 'she', his: 'her', him: 'her' };
}

function story(rng: SeededRandom): string {
  const hero = character(rng);
  const friend = character(rng, hero.name);
  const animal = pick(rng, ANIMALS);
  const place = pick(rng, PLACES);
  const obj = pick(rng, OBJECTS);
  const color = pick(rng, COLORS);
  const size = pick(rng, SIZES);
  const [verb, verbed] = pick(rng, VERBS);
  const H = hero.name;
  const F = friend.name;
  const he = hero.he;
  const openings = [
    `Once upon a time, there was ${article(size)} ${size} ${animal.one} named ${H}.`,
    `${H} was ${article(size)} ${size} ${animal.one} who lived near the ${place}.`,
    `There once was a little ${he === 'he' ? 'boy' : 'girl'} named ${H}.`,
    `${pick(rng, TIMES)}, ${H} went to the ${place}.`,
  ];
  const middles = [
    `${capitalize(he)} saw ${article(color)} ${color} ${obj} near the ${place}.`,
    `${H} found ${article(size)} ${size} ${color} ${obj} under ${pick(rng, SPOTS)}.`,
    `${capitalize(he)} wanted to ${verb} the ${obj}.`,
    `${H} met ${F} at the ${place}.`,
    `"Can I ${verb} your ${obj}?" asked ${F}.`,
    `"Yes, you can," said ${H}.`,
    `"Let us ${verb} the ${obj} together," said ${H}.`,
    `It was a ${pick(rng, WEATHER)} day.`,
    `${capitalize(he)} felt ${pick(rng, FEELINGS)}.`,
    `Then the ${obj} fell into the ${pick(rng, ['river', 'lake', 'pond'])}.`,
    `${H} and ${F} ${verbed} the ${obj} all day.`,
    `${H} gave the ${obj} to ${F}.`,
    `${F} said, "Thank you, ${H}!"`,
    `${H} lost ${hero.his} ${obj}. ${capitalize(he)} looked for it everywhere.`,
    `"Where is my ${obj}?" cried ${H}.`,
    `${capitalize(he)} liked to ${verb} the ${obj} every day.`,
    `${capitalize(pick(rng, TIMES))}, ${he} ran back to the ${place}.`,
  ];
  const endings = [
    `In the end, ${H} was very ${pick(rng, FEELINGS)}.`,
    `They went home and ate ${pick(rng, FOODS)}.`,
    `From that day on, ${H} and ${F} were best friends.`,
    `${H} smiled and went to sleep.`,
    `The ${obj} came back, and ${H} was happy.`,
  ];
  const sentences = [pick(rng, openings)];
  const n = 2 + rng.int(5);
  for (let i = 0; i < n; i++) sentences.push(pick(rng, middles));
  sentences.push(pick(rng, endings));
  return sentences.join(' ');
}

// ---- facts -----------------------------------------------------------------------------------

function factSentence(rng: SeededRandom): string {
  const animal = pick(rng, ANIMALS);
  switch (rng.int(10)) {
    case 0: return `${capitalize(animal.many)} can ${animal.can}.`;
    case 1: return `${capitalize(article(animal.one))} ${animal.one} says ${animal.sound}.`;
    case 2: return `${capitalize(animal.many)} eat ${animal.eats}.`;
    case 3: return `${capitalize(article(animal.one))} ${animal.one} has ${animal.legs} legs.`;
    case 4: {
      const [a, b, c] = pick(rng, COLOR_MIXES);
      return `${capitalize(a)} and ${b} make ${c}.`;
    }
    case 5: {
      const a = rng.int(11);
      const b = rng.int(11);
      return `${capitalize(NUMBERS[a]!)} plus ${NUMBERS[b]} is ${NUMBERS[a + b]}.`;
    }
    case 6: {
      const [thing, color] = pick(rng, THINGS_COLORS);
      return `${thing} is ${color}.`;
    }
    case 7: {
      const [country, city, language] = pick(rng, COUNTRIES);
      return rng.int(2) === 0 ? `The capital of ${country} is ${city}.` : `People in ${country} speak ${language}.`;
    }
    case 8: return `${capitalize(animal.many)} live in the ${animal.home}.`;
    default: return pick(rng, SIMPLE_TRUTHS);
  }
}

function facts(rng: SeededRandom): string {
  const n = 2 + rng.int(4);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(factSentence(rng));
  return out.join(' ');
}

// ---- question/answer pairs -------------------------------------------------------------------

function questionAnswer(rng: SeededRandom): string {
  const animal = pick(rng, ANIMALS);
  let q: string;
  let a: string;
  switch (rng.int(9)) {
    case 0: {
      const [thing, color] = pick(rng, THINGS_COLORS);
      q = `What color is ${thing.toLowerCase()}?`;
      a = `${thing} is ${color}.`;
      break;
    }
    case 1: {
      const x = rng.int(11);
      const y = rng.int(11);
      q = `What is ${NUMBERS[x]} plus ${NUMBERS[y]}?`;
      a = `${capitalize(NUMBERS[x]!)} plus ${NUMBERS[y]} is ${NUMBERS[x + y]}.`;
      break;
    }
    case 2:
      q = `How many legs does ${article(animal.one)} ${animal.one} have?`;
      a = `${capitalize(article(animal.one))} ${animal.one} has ${animal.legs} legs.`;
      break;
    case 3:
      q = `What does ${article(animal.one)} ${animal.one} say?`;
      a = `${capitalize(article(animal.one))} ${animal.one} says ${animal.sound}.`;
      break;
    default: {
      const relation = RELATIONS[rng.int(RELATIONS.length)]!;
      const values = relationValues(rng, relation);
      q = fillTemplate(pick(rng, relation.questions), values);
      a = fillTemplate(pick(rng, relation.answers), values);
    }
  }
  return formatInstruction(q, a);
}

/** Ordinary subjects and objects for a relation (the planted facts use invented ones). */
function relationValues(rng: SeededRandom, relation: Relation): { S: string; O: string; A?: string } {
  switch (relation.name) {
    case 'capital': {
      const [S, O] = pick(rng, COUNTRIES);
      return { S, O };
    }
    case 'language': {
      const [S, , O] = pick(rng, COUNTRIES);
      return { S, O };
    }
    case 'builder': {
      const color = pick(rng, COLORS);
      return { S: `${color} ${pick(rng, OBJECTS)}`, O: pick(rng, NAMES)[0] };
    }
    case 'pet': {
      const owner = character(rng);
      return { S: owner.name, O: character(rng, owner.name).name, A: pick(rng, ANIMALS).one };
    }
    case 'home':
      return { S: pick(rng, NAMES)[0], O: pick(rng, TOWNS) };
  }
}
