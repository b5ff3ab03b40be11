/**
 * Ingestion benchmark: throughput of the whole validation pipeline on a generated JSONL upload,
 * `parseUpload` (src/datanet/intake) feeding `ingestRecords` (src/datanet/ingest-records.ts) into
 * a real store (PGlite on disk, migrated) for a datanet with a JSON Schema, owner rules and
 * near-duplicate detection, registered on a real chain (a fresh anvil with the protocol deployed,
 * `startTestProtocol`), the contributor having bonded the datanet's contribution stake. Records
 * are ingested as an upload (`uploadId`), as `processUpload` does, so rejections are stored too.
 *
 * The file: `records` lines of question/answer records from a seeded generator (nothing is
 * downloaded), with planted exact duplicates, near-duplicates, malformed JSON, non-objects,
 * schema mismatches, too-short, spam (forbidden pattern) and oversized records, so that every
 * stage does work. The outcome is printed by reason, and against what was planted.
 *
 * Stages, each run in a fresh child process (so each peak RSS is its own), median of `repeats`:
 * - parse: `parseUpload` on a file stream, items counted;
 * - + checks: and, per record, what `ingestRecords` does before it looks at the store: canonical
 *   bytes, the datanet's checks (`recordChecks`: size, schema, rules), content hash, contribution
 *   id, record text;
 * - + dedup: and exact (content hash) and near-duplicate (MinHash + LSH index) detection in memory;
 * - full: `ingestRecords` itself with the store and chain (setup, i.e. chain, store, datanet and
 *   stake, is not timed). Its time is also split in the run: waiting on the parser, in the store
 *   (every query and transaction, timed by wrapping the database), and the rest (checks, dedup);
 * - baseline: `readFile` + `split('\n')` + `JSON.parse` + ajv validation against the same schema,
 *   no store, no dedup, no rules.
 *
 * Run: `npm run bench -- ingest` (options: --records=100000 --repeats=3 --seed=1; --write=FILE only
 * writes the generated upload to FILE, to profile a stage: `node bench/ingest.ts --child=dedup --file=FILE --work=DIR`)
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Address } from 'viem';
import type { NodeContext } from '../src/store/node-context.ts';
import type { IngestResult } from '../src/datanet/datanet-types.ts';
import type { DatanetDefinitionInput } from '../src/datanet/definition.ts';
import type { IngestItem } from '../src/datanet/ingest-records.ts';
import type { ParsedRecord } from '../src/datanet/intake/types.ts';
import type { Database } from '../src/store/database.ts';
import { generator } from './_random.ts';
import { StakingRole } from '../src/chain/staking-role.ts';
// Each stage runs in its own process and imports only what it uses (dynamically, before its
// clock starts), so that its peak RSS is its own.

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

// ------------------------------------------------------------------ the datanet

const TOPICS = {
  medicine: ['fever', 'vaccine', 'antibiotic', 'artery', 'symptom', 'diagnosis', 'dose', 'infection', 'kidney', 'liver', 'migraine', 'allergy', 'insulin', 'tissue', 'virus', 'therapy', 'blood pressure', 'immune system', 'side effect', 'clinical trial'],
  law: ['contract', 'tenant', 'landlord', 'liability', 'clause', 'court', 'appeal', 'copyright', 'licence', 'damages', 'witness', 'statute', 'precedent', 'warranty', 'negligence', 'arbitration', 'trademark', 'deposit', 'notice period', 'jurisdiction'],
  cooking: ['dough', 'yeast', 'sauce', 'broth', 'oven', 'skillet', 'butter', 'flour', 'garlic', 'marinade', 'custard', 'caramel', 'knife', 'emulsion', 'brine', 'stock', 'roux', 'sourdough starter', 'cast iron pan', 'meringue'],
  programming: ['compiler', 'closure', 'pointer', 'thread', 'mutex', 'iterator', 'cache', 'query', 'index', 'garbage collector', 'stack', 'heap', 'promise', 'type checker', 'regular expression', 'unit test', 'hash map', 'race condition', 'dependency', 'interface'],
  finance: ['bond', 'dividend', 'mortgage', 'interest rate', 'inflation', 'portfolio', 'index fund', 'pension', 'tax return', 'budget', 'credit score', 'loan', 'annuity', 'equity', 'liquidity', 'exchange rate', 'deductible', 'invoice', 'balance sheet', 'cash flow'],
  gardening: ['compost', 'seedling', 'mulch', 'soil', 'tomato', 'rose', 'pruning', 'aphid', 'fertiliser', 'greenhouse', 'root', 'lawn', 'hedge', 'bulb', 'frost', 'raised bed', 'drip irrigation', 'cutting', 'perennial', 'weed'],
  astronomy: ['telescope', 'nebula', 'galaxy', 'comet', 'eclipse', 'orbit', 'supernova', 'black hole', 'exoplanet', 'red giant', 'meteor shower', 'light year', 'redshift', 'moon', 'asteroid', 'pulsar', 'star cluster', 'solar wind', 'parallax', 'dark matter'],
  history: ['empire', 'treaty', 'revolution', 'dynasty', 'harbour', 'guild', 'manuscript', 'siege', 'monastery', 'trade route', 'parliament', 'colony', 'plague', 'reform', 'census', 'coin', 'railway', 'archive', 'charter', 'frontier'],
  chemistry: ['molecule', 'catalyst', 'solvent', 'acid', 'buffer', 'isotope', 'polymer', 'enzyme', 'electrode', 'crystal', 'oxidation', 'salt', 'ion', 'reaction rate', 'titration', 'covalent bond', 'precipitate', 'alloy', 'distillation', 'pH'],
  music: ['chord', 'scale', 'tempo', 'rhythm', 'melody', 'harmony', 'violin', 'piano', 'metronome', 'interval', 'cadence', 'octave', 'tuning', 'overture', 'fugue', 'time signature', 'key change', 'string quartet', 'drum kit', 'counterpoint'],
} as const;
type Topic = keyof typeof TOPICS;
const TOPIC_NAMES = Object.keys(TOPICS) as Topic[];

const SCHEMA = {
  type: 'object',
  required: ['question', 'answer', 'topic'],
  properties: {
    question: { type: 'string', minLength: 10, maxLength: 500 },
    answer: { type: 'string', minLength: 1, maxLength: 50_000 },
    topic: { enum: TOPIC_NAMES },
    tags: { type: 'array', items: { type: 'string', maxLength: 40 }, maxItems: 8 },
    source: { enum: ['forum', 'textbook', 'faq', 'interview'] },
  },
  additionalProperties: false,
};

const definition = (name: string, stake: bigint): DatanetDefinitionInput => ({
  name,
  description: 'Questions and answers across ten subjects, for instruction tuning',
  licence: 'CC-BY-4.0',
  contributionStake: stake.toString(),
  recordSchema: SCHEMA,
  nearDuplicateThreshold: 0.8,
  rules: {
    minChars: 60,
    maxChars: 8_000,
    maxBytes: 16 * 1024,
    forbiddenPatterns: ['buy now', 'click here', '\\bviagra\\b', 'https?://\\S+\\.(?:xyz|top)\\b', 'lorem ipsum'],
  },
});

// ------------------------------------------------------------------ the generated upload


/** What a line of the file was made to be; the expected outcome is in brackets in `PLANTED`. */
type Planted = 'clean' | 'exact_duplicate' | 'near_duplicate' | 'malformed_json' | 'not_an_object' | 'schema_mismatch' | 'too_short' | 'spam' | 'too_large';
/** Rates of the planted kinds (the rest is clean). */
const PLANTED: [Planted, number][] = [
  ['exact_duplicate', 0.02],
  ['near_duplicate', 0.03],
  ['malformed_json', 0.01],
  ['not_an_object', 0.003],
  ['schema_mismatch', 0.01],
  ['too_short', 0.005],
  ['spam', 0.005],
  ['too_large', 0.0005],
];

interface QA {
  question: string;
  answer: string;
  topic: Topic;
  tags?: string[];
  source?: string;
}

function makeUpload(n: number, seed: number): { jsonl: Buffer; planted: Planted[] } {
  const random = generator(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const adjectives = ['common', 'rare', 'early', 'late', 'small', 'large', 'modern', 'traditional', 'stable', 'unstable', 'simple', 'complex', 'cheap', 'expensive', 'safe', 'risky', 'slow', 'fast', 'dry', 'wet', 'warm', 'cold', 'local', 'global', 'typical', 'unusual', 'primary', 'secondary', 'strong', 'weak', 'careful', 'frequent', 'gradual', 'sudden', 'hidden', 'visible', 'shared', 'separate', 'formal', 'informal'];
  const verbs = ['affects', 'reduces', 'increases', 'replaces', 'protects', 'damages', 'changes', 'controls', 'limits', 'follows', 'precedes', 'requires', 'prevents', 'causes', 'supports', 'measures', 'describes', 'produces', 'absorbs', 'releases', 'blocks', 'improves', 'weakens', 'shapes', 'tracks', 'balances', 'covers', 'exposes', 'slows', 'speeds up'];
  const adverbs = ['usually', 'often', 'rarely', 'sometimes', 'mostly', 'quickly', 'slowly', 'directly', 'indirectly', 'partly', 'always', 'seldom'];
  const general = ['process', 'result', 'method', 'risk', 'cost', 'effect', 'rule', 'pattern', 'source', 'level', 'amount', 'period', 'stage', 'factor', 'case', 'problem', 'change', 'balance', 'surface', 'layer', 'reason', 'practice', 'standard', 'limit', 'signal', 'sample', 'value', 'measure', 'step', 'condition'];
  const preps = ['in', 'of', 'for', 'during', 'after', 'before', 'with', 'without', 'under', 'around', 'between', 'through'];
  const dets = ['the', 'a', 'each', 'every', 'this', 'that', 'any', 'most'];
  const conj = ['because', 'although', 'while', 'unless', 'so', 'and', 'but', 'when'];
  const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

  const noun = (topic: Topic) => (random() < 0.6 ? pick(TOPICS[topic]) : pick(general));
  const phrase = (topic: Topic) => `${pick(dets)} ${random() < 0.4 ? pick(adjectives) + ' ' : ''}${noun(topic)}`;
  const clause = (topic: Topic) =>
    `${phrase(topic)} ${random() < 0.3 ? pick(adverbs) + ' ' : ''}${pick(verbs)} ${phrase(topic)}${random() < 0.5 ? ` ${pick(preps)} ${phrase(topic)}` : ''}`;
  const sentence = (topic: Topic) => {
    let s = clause(topic);
    if (random() < 0.4) s += `${random() < 0.5 ? ',' : ''} ${pick(conj)} ${clause(topic)}`;
    if (random() < 0.15) s += ` ${pick(preps)} ${phrase(topic)}`;
    return cap(s) + pick(['.', '.', '.', '!', ' in most cases.', ', as a rule.']);
  };
  const question = (topic: Topic) => {
    const a = noun(topic);
    const b = noun(topic);
    return pick([
      () => `What is the difference between ${a} and ${b} in ${topic}?`,
      () => `How does a ${pick(adjectives)} ${a} affect the ${b}?`,
      () => `Why does the ${a} ${pick(verbs).replace(/s$/, '').replace(/s up$/, ' up')} the ${b} ${pick(preps)} ${phrase(topic)}?`,
      () => `When should I worry about the ${a} ${pick(preps)} ${phrase(topic)}?`,
      () => `Can a ${pick(adjectives)} ${a} work without ${phrase(topic)}?`,
      () => `What are the ${pick(adjectives)} signs of a problem with the ${a}?`,
      () => `Is it true that ${clause(topic)}?`,
      () => `Explain how ${phrase(topic)} ${pick(verbs)} ${phrase(topic)}.`,
    ])();
  };
  const answer = (topic: Topic, sentences: number) => Array.from({ length: sentences }, () => sentence(topic)).join(' ');
  const fresh = (): QA => {
    const topic = pick(TOPIC_NAMES);
    const r: QA = { question: question(topic), answer: answer(topic, random() < 0.3 ? int(2, 3) : int(3, 9)), topic };
    if (random() < 0.6) r.tags = Array.from({ length: int(1, 3) }, () => pick(TOPICS[topic]));
    if (random() < 0.5) r.source = pick(['forum', 'textbook', 'faq', 'interview']);
    return r;
  };
  /** Words replaced, dropped or inserted at `rate`, plus case and punctuation noise. */
  const nearCopy = (r: QA): QA => {
    const rate = random() * 0.06;
    const words = r.answer.split(' ');
    const out: string[] = [];
    for (const w of words) {
      const x = random();
      if (x < rate / 3) out.push(pick(general));
      else if (x < (2 * rate) / 3) continue;
      else if (x < rate) out.push(w, pick(adjectives));
      else out.push(w);
    }
    let ans = out.join(' ');
    if (random() < 0.5) ans = ans.replaceAll('. ', '.  ');
    if (random() < 0.3) ans = ans.toLowerCase();
    const copy: QA = { ...r, answer: ans, question: random() < 0.5 ? r.question.replace(/\?$/, ' ?') : r.question };
    return copy;
  };
  const shuffledKeys = (r: QA) => Object.fromEntries(Object.entries(r).reverse());

  const clean: QA[] = [];
  const lines: Buffer[] = [];
  const planted: Planted[] = [];
  for (let i = 0; i < n; i++) {
    let kind: Planted = 'clean';
    let x = random();
    for (const [k, rate] of PLANTED) {
      if (x < rate) {
        kind = k;
        break;
      }
      x -= rate;
    }
    if ((kind === 'exact_duplicate' || kind === 'near_duplicate') && clean.length === 0) kind = 'clean';
    let line: string;
    switch (kind) {
      case 'clean': {
        const r = fresh();
        clean.push(r);
        line = JSON.stringify(r);
        break;
      }
      case 'exact_duplicate': {
        const r = pick(clean);
        line = JSON.stringify(random() < 0.5 ? r : shuffledKeys(r)); // same canonical form
        break;
      }
      case 'near_duplicate':
        line = JSON.stringify(nearCopy(pick(clean)));
        break;
      case 'malformed_json': {
        const s = JSON.stringify(fresh());
        line = pick([() => s.slice(0, int(5, s.length - 2)), () => s.replace('"question"', "'question'"), () => s.replace(/}$/, ',}')])();
        break;
      }
      case 'not_an_object': {
        const r = fresh();
        line = JSON.stringify(pick<unknown>([[r.question, r.answer], r.answer, 42, null]));
        break;
      }
      case 'schema_mismatch': {
        const r: Record<string, unknown> = { ...fresh() };
        pick([
          () => delete r.answer,
          () => (r.topic = 'astrology'),
          () => (r.answer = int(1, 1000)),
          () => (r.rating = int(1, 5)),
          () => (r.question = 'Why?'),
        ])();
        line = JSON.stringify(r);
        break;
      }
      case 'too_short': {
        const topic = pick(TOPIC_NAMES);
        line = JSON.stringify({ question: `What is ${pick(TOPICS[topic])}?`, answer: pick(['Yes.', 'No idea.', 'See above.', 'It depends.']), topic });
        break;
      }
      case 'spam': {
        const r = fresh();
        r.answer += ' ' + pick(['Buy now at our shop, best prices!', 'Click here for the full answer.', 'More at https://cheap-answers.xyz today.', 'Lorem ipsum dolor sit amet.']);
        line = JSON.stringify(r);
        break;
      }
      case 'too_large': {
        const r = fresh();
        r.answer = answer(r.topic, 250); // about 20 kB, over the rule's 16 KiB
        line = JSON.stringify(r);
        break;
      }
    }
    lines.push(Buffer.from(line + '\n'));
    planted.push(kind);
  }
  return { jsonl: Buffer.concat(lines), planted };
}

// ------------------------------------------------------------------ children

type Mode = 'parse' | 'checks' | 'dedup' | 'full' | 'baseline' | 'idle';
interface Run {
  mode: Mode;
  ms: number;
  items: number;
  accepted: number;
  /** Rejections by reason. */
  reasons: Record<string, number>;
  maxRssMiB: number;
  /** Full runs: time split, and what ended up in the store. */
  split?: { parseMs: number; storeMs: number; storeCalls: number; restMs: number; lookupMs: PerChunk; insertMs: PerChunk };
  stored?: { contributions: number; rejections: number; dbMiB: number };
  anvilRssMiB?: number;
  /** Full runs: outcome (accepted or reason) of every item, in file order. */
  outcomes?: string[];
  setupMs?: number;
  /** Full runs: peak RSS when setup was done (chain clients, PGlite open and migrated, datanet made), before ingesting. */
  setupRssMiB?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const tally = (reasons: Record<string, number>, reason: string) => (reasons[reason] = (reasons[reason] ?? 0) + 1);

/** Store time per chunk: medians of the first and last 10 chunks, and the sum over all. */
interface PerChunk {
  first: number;
  last: number;
  total: number;
}

type Outcome = Omit<Run, 'mode' | 'maxRssMiB'>;

async function uploadReader() {
  const { parseUpload } = await import('../src/datanet/intake/parse-upload.ts');
  return (file: string) => parseUpload({ filename: file, stream: createReadStream(file) });
}

async function parseOnly(file: string): Promise<Outcome> {
  const upload = await uploadReader();
  const t0 = performance.now();
  const reasons: Record<string, number> = {};
  let items = 0;
  let accepted = 0;
  for await (const item of upload(file)) {
    items++;
    if ('record' in item) accepted++;
    else tally(reasons, item.error.code);
  }
  return { ms: performance.now() - t0, items, accepted, reasons };
}

/** The per-record work `ingestRecords` does before it looks at the store (and, with `dedup`, the duplicate checks it does in memory). */
async function localChecks(file: string, dedup: boolean): Promise<Outcome> {
  const upload = await uploadReader();
  const { canonicalBytes, contentHashOf, contributionIdOf } = await import('../src/datanet/contribution-id.ts');
  const { parseDefinition } = await import('../src/datanet/definition.ts');
  const { createNearDuplicateIndex } = await import('../src/datanet/near-duplicates.ts');
  const { recordChecks, recordText } = await import('../src/datanet/validate-record.ts');
  const t0 = performance.now();
  const def = parseDefinition(definition('bench-local', 0n));
  const check = recordChecks({ recordSchema: def.recordSchema ?? null, rules: def.rules });
  const contributor = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as Address;
  const index = createNearDuplicateIndex({ threshold: def.nearDuplicateThreshold });
  const hashes = new Set<string>();
  const reasons: Record<string, number> = {};
  let items = 0;
  let accepted = 0;
  const decoder = new TextDecoder();
  let size = 0;
  for await (const item of upload(file)) {
    items++;
    if ('error' in item) {
      tally(reasons, item.error.code);
      continue;
    }
    const bytes = canonicalBytes(item.record);
    const rejection = check(item.record, bytes);
    if (rejection) {
      tally(reasons, rejection.reason);
      continue;
    }
    const contentHash = contentHashOf(item.record);
    const id = contributionIdOf(contentHash, contributor);
    const content = decoder.decode(bytes);
    const text = recordText(item.record);
    size += content.length + id.length; // as ingestRecords keeps them for the insert
    if (dedup) {
      if (hashes.has(contentHash)) {
        tally(reasons, 'duplicate');
        continue;
      }
      if (index.check(text).duplicateOf) {
        tally(reasons, 'near_duplicate');
        continue;
      }
      hashes.add(contentHash);
      index.add(id, text);
    }
    accepted++;
  }
  if (size === 0 && accepted > 0) throw new Error('no content');
  return { ms: performance.now() - t0, items, accepted, reasons };
}

/** A database that adds up the time spent in its queries and transactions, and keeps each one's. */
function timedDatabase(db: Database, clock: StoreClock): Database {
  const timed = async <T>(kind: 'lookup' | 'query' | 'transaction', p: () => Promise<T>) => {
    const t = performance.now();
    try {
      return await p();
    } finally {
      const ms = performance.now() - t;
      clock.ms += ms;
      clock[kind].push(ms);
    }
  };
  return {
    kind: db.kind,
    query: (text, params) => timed(/content_hash = any/.test(text) ? 'lookup' : 'query', () => db.query(text, params)),
    transaction: (fn) => timed('transaction', () => db.transaction(fn)),
    close: () => db.close(),
  };
}
interface StoreClock {
  ms: number;
  /** ingestRecords' per-chunk lookup of known ids and content hashes. */
  lookup: number[];
  /** Other queries (the near-duplicate index's build, an upload's earlier results). */
  query: number[];
  transaction: number[];
}

/** An async iterable that adds up the time spent waiting for its next item. */
async function* timedItems(source: AsyncIterable<ParsedRecord>, clock: { ms: number }): AsyncGenerator<IngestItem> {
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    const t = performance.now();
    const next = await it.next();
    clock.ms += performance.now() - t;
    if (next.done) return;
    yield next.value;
  }
}

function dirMiB(dir: string): number {
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) bytes += statSync(join(e.parentPath, e.name)).size;
  return bytes / 2 ** 20;
}

/** Peak RSS of a process (Linux: VmHWM), in MiB. */
function peakRssOf(pid: number | 'self' | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * This process's peak RSS in MiB. VmHWM where there is one: on Linux, getrusage's maxRSS (what
 * `process.resourceUsage()` gives) carries over the parent's RSS at the time of the spawn, which
 * would put the parent's copy of the generated file in every child's figure.
 */
function peakRss(): number {
  return peakRssOf('self') ?? process.resourceUsage().maxRSS / 1024;
}

async function fullIngest(file: string, work: string): Promise<Outcome> {
  const upload = await uploadReader();
  const { parseEther } = await import('viem');
  const { startTestProtocol } = await import('../src/chain/test-chain.ts');
  const { createDatanet } = await import('../src/datanet/create-datanet.ts');
  const { parseDefinition } = await import('../src/datanet/definition.ts');
  const { ingestRecords } = await import('../src/datanet/ingest-records.ts');
  const { openBlobStore } = await import('../src/store/blobs.ts');
  const { openDatabase } = await import('../src/store/database.ts');
  const { migrate } = await import('../src/store/migrate.ts');
  const setup0 = performance.now();
  const STAKE = parseEther('100');
  const [t, raw] = await Promise.all([startTestProtocol(), openDatabase({ dataDir: join(work, 'db') })]);
  try {
    await migrate(raw);
    const storeClock: StoreClock = { ms: 0, lookup: [], query: [], transaction: [] };
    const db = timedDatabase(raw, storeClock);
    const ctx: NodeContext = { db, blobs: await openBlobStore({ dataDir: join(work, 'blobs') }), clients: await t.clients(0), contracts: await t.as(0) };
    const owner = t.accounts[1]!.address;
    const contributor = t.accounts[3]!.address;
    await t.mined(ctx.contracts.openToken.write.transfer([contributor, parseEther('1000')]));
    const datanet = await createDatanet(ctx, owner, parseDefinition(definition('bench-qa', STAKE)));
    const as = await t.as(3);
    await t.mined(as.openToken.write.approve([t.addresses.staking, STAKE]));
    await t.mined(as.staking.write.stake([StakingRole.Contributor, BigInt(datanet.id!), STAKE]));
    if (!(await ctx.contracts.datanetRegistry.read.canContribute([BigInt(datanet.id!), contributor]))) throw new Error('the contributor cannot contribute');
    // As an upload: the file is a blob, and an upload row holds the rejections (processUpload's path).
    const blob = await ctx.blobs.put(createReadStream(file));
    const uploadId = randomUUID();
    await raw.query(
      `insert into uploads (id, datanet_id, contributor, filename, format, blob_hash, status, bytes) values ($1, $2, $3, 'qa.jsonl', 'jsonl', $4, 'processing', $5)`,
      [uploadId, datanet.id, contributor, blob.hash, statSync(file).size],
    );
    const setupMs = performance.now() - setup0;
    const setupRssMiB = peakRss();

    Object.assign(storeClock, { ms: 0, lookup: [], query: [], transaction: [] });
    const parseClock = { ms: 0 };
    const t0 = performance.now();
    const result = await ingestRecords(ctx, datanet, contributor, timedItems(upload(file), parseClock), { uploadId });
    const ms = performance.now() - t0;

    const reasons: Record<string, number> = {};
    const outcomes = result.results.map((r: IngestResult) => (r.status === 'rejected' ? r.reason : r.status));
    for (const o of outcomes) if (o !== 'accepted') tally(reasons, o);
    const [c] = await raw.query<{ n: number }>('select count(*)::int as n from contributions where upload_id = $1', [uploadId]);
    const [r] = await raw.query<{ n: number }>('select count(*)::int as n from upload_rejections where upload_id = $1', [uploadId]);
    // Per chunk of 500: one lookup of known ids and hashes, one insert transaction.
    const perChunk = (xs: number[]) => ({ first: median(xs.slice(0, 10)), last: median(xs.slice(-10)), total: xs.reduce((a, b) => a + b, 0) });
    const split = {
      parseMs: parseClock.ms,
      storeMs: storeClock.ms,
      storeCalls: storeClock.lookup.length + storeClock.query.length + storeClock.transaction.length,
      restMs: ms - parseClock.ms - storeClock.ms,
      lookupMs: perChunk(storeClock.lookup),
      insertMs: perChunk(storeClock.transaction),
    };
    const anvilRssMiB = peakRssOf(t.anvil.process.pid);
    await raw.close();
    const stored = { contributions: c!.n, rejections: r!.n, dbMiB: dirMiB(join(work, 'db')) };
    return { ms, items: result.records, accepted: result.accepted, reasons, split, stored, outcomes, setupMs, setupRssMiB, ...(anvilRssMiB !== undefined ? { anvilRssMiB } : {}) };
  } finally {
    await Promise.all([t.stop(), raw.close().catch(() => {})]);
  }
}

async function baseline(file: string): Promise<Outcome> {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const t0 = performance.now();
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(SCHEMA);
  const reasons: Record<string, number> = {};
  let items = 0;
  let accepted = 0;
  const text = await readFile(file, 'utf8');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    items++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      tally(reasons, 'malformed_json');
      continue;
    }
    if (validate(value)) accepted++;
    else tally(reasons, 'schema_mismatch');
  }
  return { ms: performance.now() - t0, items, accepted, reasons };
}

async function child(mode: Mode, file: string, work: string): Promise<void> {
  const idle = async (): Promise<Outcome> => ({ ms: 0, items: 0, accepted: 0, reasons: {} });
  const stage = { idle, parse: parseOnly, checks: (f: string) => localChecks(f, false), dedup: (f: string) => localChecks(f, true), full: fullIngest, baseline };
  const r = await stage[mode](file, work);
  const run: Run = { mode, ...r, maxRssMiB: peakRss() };
  writeFileSync(join(work, 'run.json'), JSON.stringify(run));
}

function runChild(mode: Mode, file: string, dir: string, i: number): Run {
  const work = mkdtempSync(join(dir, `${mode}-${i}-`));
  try {
    const self = fileURLToPath(import.meta.url);
    const out = spawnSync(process.execPath, [...process.execArgv, self, `--child=${mode}`, `--file=${file}`, `--work=${work}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (out.status !== 0) throw new Error(`ingest bench child ${mode} failed (${out.status ?? out.signal}): ${out.stderr}`);
    return JSON.parse(readFileSync(join(work, 'run.json'), 'utf8')) as Run;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ main

const fmt = (x: number) => Math.round(x).toLocaleString('en');

function printTable(table: string[][]) {
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
}

const childMode = arg('child', '') as Mode | '';
if (childMode) {
  await child(childMode, arg('file', ''), arg('work', ''));
} else {
  const n = Number(arg('records', '100000'));
  const repeats = Number(arg('repeats', '3'));
  const seed = Number(arg('seed', '1'));
  const dir = mkdtempSync(join(tmpdir(), 'openledger-bench-ingest-'));
  try {
    const g0 = performance.now();
    const { jsonl, planted } = makeUpload(n, seed);
    const file = join(dir, 'qa.jsonl');
    writeFileSync(file, jsonl);
    const mb = jsonl.length / 1e6;
    if (arg('write', '')) {
      writeFileSync(arg('write', ''), jsonl);
      console.log(`wrote ${arg('write', '')}`);
      process.exit(0);
    }
    const plantedCounts: Record<string, number> = {};
    for (const p of planted) tally(plantedCounts, p);
    console.log(
      `node ${process.version}; ${n.toLocaleString('en')} lines of Q&A JSONL, ${mb.toFixed(1)} MB (${Math.round(jsonl.length / n)} B/line), seed ${seed}, generated in ${((performance.now() - g0) / 1000).toFixed(1)} s; ` +
        `median of ${repeats} runs, each in a fresh process`,
    );
    console.log(`planted: ${Object.entries(plantedCounts).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);

    const modes = ['parse', 'checks', 'dedup', 'full', 'baseline'] as const;
    const runs: Record<Mode, Run[]> = { parse: [], checks: [], dedup: [], full: [], baseline: [], idle: [] };
    const idle = runChild('idle', file, dir, 0).maxRssMiB;
    for (let r = 0; r < repeats; r++) {
      for (const mode of modes) {
        const run = runChild(mode, file, dir, r);
        runs[mode].push(run);
        console.error(`  run ${r + 1}/${repeats} ${mode}: ${(run.ms / 1000).toFixed(1)} s`);
      }
    }

    const summary = (mode: Mode) => {
      const rs = runs[mode];
      const first = rs[0]!;
      for (const x of rs) {
        if (x.items !== n) throw new Error(`${mode}: ${x.items} items, expected ${n}`);
        if (x.accepted !== first.accepted || JSON.stringify(x.reasons) !== JSON.stringify(first.reasons)) throw new Error(`${mode}: runs disagree on the outcome`);
      }
      const ms = median(rs.map((x) => x.ms));
      return { ms, perSecond: n / (ms / 1000), mbPerSecond: mb / (ms / 1000), rss: median(rs.map((x) => x.maxRssMiB)), first };
    };
    const s = Object.fromEntries(modes.map((m) => [m, summary(m)])) as Record<Exclude<Mode, 'idle'>, ReturnType<typeof summary>>;
    const full = s.full;

    const labels: Record<(typeof modes)[number], string> = {
      parse: 'parse only (parseUpload)',
      checks: '+ local checks (canonical, schema, rules, hashes)',
      dedup: '+ exact & near-dup detection (in memory)',
      full: 'full ingestRecords (PGlite on disk, chain)',
      baseline: 'baseline: readFile+split+JSON.parse+ajv',
    };
    const table: string[][] = [['', 'time', 'records/s', 'MB/s', 'passed', 'peak RSS', 'RSS over idle', 'runs (s)']];
    for (const m of modes) {
      const x = s[m];
      table.push([labels[m], `${(x.ms / 1000).toFixed(2)} s`, fmt(x.perSecond), x.mbPerSecond.toFixed(2), fmt(x.first.accepted), `${x.rss.toFixed(0)} MiB`, `${(x.rss - idle).toFixed(0)} MiB`, runs[m].map((r) => (r.ms / 1000).toFixed(1)).join(' ')]);
    }
    console.log('');
    printTable(table);

    console.log(`idle node (no imports): peak RSS ${idle.toFixed(0)} MiB; PGlite runs in the full run's process, anvil in its own`);
    console.log('');
    console.log(`full / baseline: time ${(full.ms / s.baseline.ms).toFixed(1)}×, throughput ${(full.perSecond / s.baseline.perSecond).toFixed(3)}×`);
    const split = (runs.full.find((r) => r.ms === full.ms) ?? full.first).split!;
    const pct = (x: number) => `${((100 * x) / full.ms).toFixed(0)}%`;
    console.log(
      `full run split (the median run, measured inside it): waiting on parseUpload ${(split.parseMs / 1000).toFixed(1)} s (${pct(split.parseMs)}), ` +
        `store ${(split.storeMs / 1000).toFixed(1)} s in ${split.storeCalls} calls (${pct(split.storeMs)}), ` +
        `checks + dedup + rest ${(split.restMs / 1000).toFixed(1)} s (${pct(split.restMs)})`,
    );
    console.log(
      `store per chunk of 500 (medians of the first and last 10 chunks): lookup of known ids/hashes ${split.lookupMs.first.toFixed(1)} → ${split.lookupMs.last.toFixed(1)} ms ` +
        `(${(split.lookupMs.total / 1000).toFixed(1)} s in all), insert transaction ${split.insertMs.first.toFixed(1)} → ${split.insertMs.last.toFixed(1)} ms (${(split.insertMs.total / 1000).toFixed(1)} s in all)`,
    );
    const d = (a: keyof typeof s, b: keyof typeof s) => `${((s[b].ms - s[a].ms) / 1000).toFixed(1)} s`;
    console.log(`by difference of the stage medians: parse ${(s.parse.ms / 1000).toFixed(1)} s, checks ${d('parse', 'checks')}, dedup ${d('checks', 'dedup')}, store + chain + rest ${d('dedup', 'full')}`);
    const st = full.first.stored!;
    console.log(
      `full run: setup (anvil + deploy, PGlite open + migrate, datanet, stake) ${((full.first.setupMs ?? 0) / 1000).toFixed(1)} s untimed; stored ${fmt(st.contributions)} contributions, ` +
        `${fmt(st.rejections)} upload rejections; PGlite data dir ${st.dbMiB.toFixed(0)} MiB; peak RSS ${full.first.setupRssMiB!.toFixed(0)} MiB before ingesting` +
        (full.first.anvilRssMiB !== undefined ? `; anvil peak RSS ${full.first.anvilRssMiB.toFixed(0)} MiB (its own process, not in the table)` : ''),
    );
    if (st.contributions !== full.first.accepted || st.rejections !== n - full.first.accepted) throw new Error('the store does not hold what ingestRecords reported');

    console.log('');
    const outcomeRows = ['accepted', ...new Set([...modes.flatMap((m) => Object.keys(s[m].first.reasons))])];
    const rt: string[][] = [['outcome', ...modes]];
    for (const o of outcomeRows) rt.push([o, ...modes.map((m) => (o === 'accepted' ? fmt(s[m].first.accepted) : s[m].first.reasons[o] ? fmt(s[m].first.reasons[o]!) : '-'))]);
    printTable(rt);

    console.log('');
    const outcomes = full.first.outcomes!;
    const kinds = Object.keys(plantedCounts) as Planted[];
    const seen = [...new Set(outcomes)];
    const ct: string[][] = [['planted \\ full outcome', ...seen]];
    for (const k of kinds) {
      const row: Record<string, number> = {};
      outcomes.forEach((o, i) => planted[i] === k && tally(row, o));
      ct.push([`${k} (${fmt(plantedCounts[k]!)})`, ...seen.map((o) => (row[o] ? fmt(row[o]!) : '-'))]);
    }
    printTable(ct);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
