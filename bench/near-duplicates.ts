/**
 * Near-duplicate detection: MinHash + LSH (src/datanet/near-duplicates.ts) against the exact
 * baseline, pairwise Jaccard similarity of shingle sets, on a synthetic corpus with planted
 * near-duplicates. Nothing is downloaded: the corpus comes from a seeded generator.
 *
 * The corpus: `docs` documents in arrival order. Most are new text drawn from a Zipf-distributed
 * vocabulary of 8,000 made-up words (sentences of 6 to 20 words, 20 to 400 words a document);
 * a fraction `dup-rate` are near-duplicates of a random earlier document (possibly itself a
 * near-duplicate), made with an edit rate drawn uniformly from [0, max-edit]: each word is
 * replaced, dropped or followed by a new word with that probability, plus trivial edits (case,
 * whitespace, punctuation) and, for one in five, two sentences swapped. Their true Jaccard
 * similarities thus span both sides of the threshold.
 *
 * Ground truth: on the first `sample` documents (a self-contained corpus: near-duplicates only
 * copy earlier documents), every pair's exact Jaccard similarity, by the exact baseline run as a
 * detector (each document against every earlier one: the work a detector without an index does;
 * pairs whose set sizes alone put them under the threshold are skipped).
 * A pair is a near-duplicate when its exact similarity ≥ threshold.
 *
 * Reported: precision and recall of LSH against that truth, per pair (all indexed documents that
 * LSH reports at ≥ threshold) and per document (the pipeline's decision: is it a near-duplicate
 * of anything earlier?); recall of planted pairs by true-similarity bin; the same for the
 * textbook area-minimising banding; throughput (check + add, docs/s, median of `repeats`) of LSH
 * and of the exact baseline on the sample, of LSH on the whole corpus, and their ratios.
 *
 * Usage: node bench/near-duplicates.ts [--docs=20000] [--sample=2000] [--threshold=0.8]
 *          [--num-perm=128] [--dup-rate=0.3] [--max-edit=0.12] [--repeats=3] [--seed=1]
 */
import { parseArgs } from 'node:util';
import { lshBands, lshBandsMinimisingArea, type LshBands } from '../src/datanet/lsh-bands.ts';
import { createLshIndex } from '../src/datanet/lsh-index.ts';
import { createMinHasher } from '../src/datanet/minhash.ts';
import { createNearDuplicateIndex } from '../src/datanet/near-duplicates.ts';
import { exactJaccard, shingleHashes, shingleSet } from '../src/datanet/shingles.ts';
import { generator } from './_random.ts';

// ------------------------------------------------------------------ options

const { values: opt } = parseArgs({
  options: {
    docs: { type: 'string', default: '20000' },
    sample: { type: 'string', default: '2000' },
    threshold: { type: 'string', default: '0.8' },
    'num-perm': { type: 'string', default: '128' },
    'dup-rate': { type: 'string', default: '0.3' },
    'max-edit': { type: 'string', default: '0.12' },
    repeats: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
  },
  allowPositionals: true,
});
const DOCS = Number(opt.docs);
const SAMPLE = Math.min(Number(opt.sample), DOCS);
const THRESHOLD = Number(opt.threshold);
const NUM_PERM = Number(opt['num-perm']);
const DUP_RATE = Number(opt['dup-rate']);
const MAX_EDIT = Number(opt['max-edit']);
const REPEATS = Number(opt.repeats);
const SEED = Number(opt.seed);

// ------------------------------------------------------------------ corpus


interface Doc {
  text: string;
  /** The document it was copied from, for planted near-duplicates. */
  parent?: number;
  editRate?: number;
}

function makeCorpus(n: number, random: () => number): Doc[] {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'qui', 'dor', 'len', 'mar', 'tho', 'bri', 'gan', 'fel', 'shu', 'wen'];
  const vocabulary = new Set<string>();
  while (vocabulary.size < 8000) vocabulary.add(Array.from({ length: int(1, 4) }, () => syllables[int(0, syllables.length - 1)]).join(''));
  const words = [...vocabulary];
  // Zipf(1) over the vocabulary: cumulative weights 1/rank, sampled by binary search.
  const cumulative = new Float64Array(words.length);
  let total = 0;
  for (let i = 0; i < words.length; i++) cumulative[i] = total += 1 / (i + 1);
  const word = () => {
    const x = random() * total;
    let lo = 0;
    let hi = words.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
  const sentence = (length: number) => {
    const ws = Array.from({ length }, word);
    ws[0] = ws[0]![0]!.toUpperCase() + ws[0]!.slice(1);
    for (let i = 1; i < ws.length - 1; i++) if (random() < 0.08) ws[i] += ',';
    return ws.join(' ') + ['.', '.', '.', '?', '!'][int(0, 4)];
  };
  const fresh = () => {
    let left = random() < 0.3 ? int(20, 60) : int(60, 400);
    const sentences: string[] = [];
    while (left > 0) {
      const length = Math.min(left, int(6, 20));
      sentences.push(sentence(length));
      left -= length;
    }
    return sentences.join(' ');
  };
  const edit = (text: string, rate: number) => {
    let sentences = text.split(/(?<=[.?!])\s+/);
    if (sentences.length > 2 && random() < 0.2) {
      const i = int(0, sentences.length - 2);
      sentences = [...sentences.slice(0, i), sentences[i + 1]!, sentences[i]!, ...sentences.slice(i + 2)];
    }
    const out: string[] = [];
    for (const w of sentences.join(' ').split(' ')) {
      const r = random();
      if (r < rate * 0.6) out.push(word());
      else if (r < rate * 0.8) continue;
      else if (r < rate) out.push(w, word());
      else out.push(w);
    }
    let result = out.join(' ');
    // Trivial edits, which normalisation undoes.
    if (random() < 0.3) result = result.toLowerCase();
    if (random() < 0.3) result = result.replace(/, /g, ' ');
    if (random() < 0.3) result = result.replace(/\. /g, '.\n\n');
    if (random() < 0.3) result = `  ${result.replace(/ /g, () => (random() < 0.05 ? '   ' : ' '))}\n`;
    return result;
  };
  const docs: Doc[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 0 && random() < DUP_RATE) {
      const parent = int(0, i - 1);
      const editRate = random() * MAX_EDIT;
      docs.push({ text: edit(docs[parent]!.text, editRate), parent, editRate });
    } else docs.push({ text: fresh() });
  }
  return docs;
}

// ------------------------------------------------------------------ helpers

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const pairKey = (i: number, j: number) => i * SAMPLE + j;

/**
 * The exact baseline as a detector: each document's shingle set against every earlier one, by a
 * merge of the sorted sets, skipping pairs whose sizes alone rule them out (J ≤ min/max size).
 * Returns the pairs at ≥ threshold and the time.
 */
function exactRun(docs: Doc[]) {
  const started = performance.now();
  const sets: Uint32Array[] = [];
  const truePairs = new Map<number, number>();
  let shingling = 0;
  for (let j = 0; j < docs.length; j++) {
    const t = performance.now();
    const set = shingleSet(shingleHashes(docs[j]!.text));
    shingling += performance.now() - t;
    for (let i = 0; i < j; i++) {
      const other = sets[i]!;
      if (Math.min(other.length, set.length) < THRESHOLD * Math.max(other.length, set.length)) continue;
      const s = exactJaccard(other, set);
      if (s >= THRESHOLD) truePairs.set(pairKey(i, j), s);
    }
    sets.push(set);
  }
  return { ms: performance.now() - started, shinglingMs: shingling, truePairs, sets };
}

/** The public API as the pipeline calls it, check then add, over `docs`; the decisions and the time. */
function lshRun(docs: Doc[]) {
  const index = createNearDuplicateIndex({ threshold: THRESHOLD, numPerm: NUM_PERM });
  const decisions: (number | undefined)[] = [];
  const started = performance.now();
  for (let j = 0; j < docs.length; j++) {
    const { duplicateOf } = index.check(docs[j]!.text);
    decisions.push(duplicateOf === undefined ? undefined : Number(duplicateOf));
    index.add(String(j), docs[j]!.text);
  }
  return { ms: performance.now() - started, decisions, bytes: index.serialize().length };
}

/** Every pair that LSH with `banding` reports at ≥ threshold on the sample, and how many candidates it verified. */
function lshPairs(docs: Doc[], banding: LshBands) {
  const minhash = createMinHasher({ numPerm: NUM_PERM });
  const lsh = createLshIndex({ numPerm: NUM_PERM, ...banding });
  const reported = new Set<number>();
  const candidatePairs = new Set<number>();
  let candidates = 0;
  const minAgreeing = Math.ceil(THRESHOLD * NUM_PERM - 1e-9);
  for (let j = 0; j < docs.length; j++) {
    const signature = minhash.signature(shingleHashes(docs[j]!.text));
    for (const id of lsh.query(signature)) {
      candidates++;
      const i = Number(id);
      candidatePairs.add(pairKey(i, j));
      const other = lsh.signatureOf(id)!;
      let agreeing = 0;
      for (let p = 0; p < NUM_PERM; p++) if (other[p] === signature[p]) agreeing++;
      if (agreeing >= minAgreeing) reported.add(pairKey(i, j));
    }
    lsh.add(String(j), signature);
  }
  return { reported, candidatePairs, candidatesPerDoc: candidates / docs.length };
}

function precisionRecall(truth: Set<number> | Map<number, number>, reported: Set<number>) {
  let hit = 0;
  for (const k of reported) if (truth.has(k)) hit++;
  return { precision: reported.size === 0 ? 1 : hit / reported.size, recall: truth.size === 0 ? 1 : hit / truth.size, hit };
}

// ------------------------------------------------------------------ run

const random = generator(SEED);
const tCorpus = performance.now();
const corpus = makeCorpus(DOCS, random);
const corpusMs = performance.now() - tCorpus;
const sample = corpus.slice(0, SAMPLE);
const defaultBanding = lshBands(THRESHOLD, NUM_PERM);
const areaBanding = lshBandsMinimisingArea(THRESHOLD, NUM_PERM);
const words = corpus.reduce((n, d) => n + d.text.split(/\s+/).length, 0);
const planted = corpus.filter((d) => d.parent !== undefined).length;
console.log(
  `near-duplicates: ${DOCS.toLocaleString('en-US')} synthetic documents (seed ${SEED}, ${(words / DOCS).toFixed(0)} words on average, ` +
    `${pct(planted / DOCS)} planted near-duplicates with edit rates in [0, ${MAX_EDIT}]), made in ${(corpusMs / 1000).toFixed(1)} s`,
);
console.log(
  `  threshold ${THRESHOLD}, word 3-gram shingles, MinHash ${NUM_PERM} permutations, LSH ${defaultBanding.bands} bands × ${defaultBanding.rows} rows ` +
    `(textbook area-minimising choice: ${areaBanding.bands} × ${areaBanding.rows}); node ${process.version}; medians of ${REPEATS} runs`,
);

// Exact ground truth on the sample (first run), then timing repeats.
const exactRuns = [exactRun(sample)];
for (let r = 1; r < REPEATS; r++) exactRuns.push(exactRun(sample));
const { truePairs, sets } = exactRuns[0]!;
const exactMs = median(exactRuns.map((r) => r.ms));
const exactShinglingMs = median(exactRuns.map((r) => r.shinglingMs));

const lshSampleRuns = Array.from({ length: REPEATS }, () => lshRun(sample));
const lshFullRuns = Array.from({ length: REPEATS }, () => lshRun(corpus));
const lshSampleMs = median(lshSampleRuns.map((r) => r.ms));
const lshFullMs = median(lshFullRuns.map((r) => r.ms));

// --- quality, per pair
const byDefault = lshPairs(sample, defaultBanding);
const byArea = lshPairs(sample, areaBanding);
const pairsDefault = precisionRecall(truePairs, byDefault.reported);
const pairsArea = precisionRecall(truePairs, byArea.reported);
const candidateRecall = precisionRecall(truePairs, byDefault.candidatePairs).recall;
const candidateRecallArea = precisionRecall(truePairs, byArea.candidatePairs).recall;

// --- quality, per document (the pipeline's decision), from the public API's run on the sample
const decisions = lshSampleRuns[0]!.decisions;
const trulyDuplicate = new Set<number>();
for (const k of truePairs.keys()) trulyDuplicate.add(k % SAMPLE);
let tp = 0;
let fp = 0;
let rightMatch = 0;
decisions.forEach((d, j) => {
  if (d === undefined) return;
  if (trulyDuplicate.has(j)) tp++;
  else fp++;
  if (truePairs.has(pairKey(d, j))) rightMatch++;
});
const flagged = tp + fp;

// --- planted pairs by true similarity
const bins = [0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0001];
const binRows: string[] = [];
for (let b = 0; b < bins.length - 1; b++) {
  let count = 0;
  let found = 0;
  let foundArea = 0;
  sample.forEach((doc, j) => {
    if (doc.parent === undefined) return;
    const s = exactJaccard(sets[doc.parent]!, sets[j]!);
    if (s < bins[b]! || s >= bins[b + 1]!) return;
    count++;
    if (byDefault.reported.has(pairKey(doc.parent, j))) found++;
    if (byArea.reported.has(pairKey(doc.parent, j))) foundArea++;
  });
  const label = `[${bins[b]!.toFixed(2)}, ${b === bins.length - 2 ? '1.00]' : `${bins[b + 1]!.toFixed(2)})`}`;
  binRows.push(`    ${label.padEnd(14)} ${String(count).padStart(6)} ${(count ? pct(found / count) : '-').padStart(10)} ${(count ? pct(foundArea / count) : '-').padStart(12)}`);
}

// --- report
const exactRate = SAMPLE / (exactMs / 1000);
const lshSampleRate = SAMPLE / (lshSampleMs / 1000);
const lshFullRate = DOCS / (lshFullMs / 1000);
// Exact cost grows with the pairs: N·(shingling per doc) + N(N−1)/2·(time per pair), both measured on the sample.
const perDocShingleMs = exactShinglingMs / SAMPLE;
const perPairMs = (exactMs - exactShinglingMs) / ((SAMPLE * (SAMPLE - 1)) / 2);
const exactFullMs = DOCS * perDocShingleMs + ((DOCS * (DOCS - 1)) / 2) * perPairMs;
const exactFullRate = DOCS / (exactFullMs / 1000);

console.log('');
console.log(`ground truth: exact Jaccard of all ${fmt((SAMPLE * (SAMPLE - 1)) / 2)} pairs of the first ${fmt(SAMPLE)} documents: ${fmt(truePairs.size)} pairs ≥ ${THRESHOLD}, ${fmt(trulyDuplicate.size)} documents with an earlier near-duplicate`);
console.log('');
console.log(`  quality on the sample                          ${`LSH ${defaultBanding.bands}×${defaultBanding.rows} (default)`.padStart(22)} ${`LSH ${areaBanding.bands}×${areaBanding.rows} (area)`.padStart(20)}`);
console.log(`    pairs: precision                             ${pct(pairsDefault.precision).padStart(22)} ${pct(pairsArea.precision).padStart(20)}`);
console.log(`    pairs: recall                                ${pct(pairsDefault.recall).padStart(22)} ${pct(pairsArea.recall).padStart(20)}`);
console.log(`    pairs: recall of the LSH candidates alone    ${pct(candidateRecall).padStart(22)} ${pct(candidateRecallArea).padStart(20)}`);
console.log(`    candidates verified per document             ${byDefault.candidatesPerDoc.toFixed(2).padStart(22)} ${byArea.candidatesPerDoc.toFixed(2).padStart(20)}`);
console.log(`    documents: precision (pipeline decision)     ${pct(flagged ? tp / flagged : 1).padStart(22)}`);
console.log(`    documents: recall (pipeline decision)        ${pct(trulyDuplicate.size ? tp / trulyDuplicate.size : 1).padStart(22)}`);
console.log(`    documents: reported match truly ≥ threshold  ${pct(flagged ? rightMatch / flagged : 1).padStart(22)}`);
console.log('');
console.log('  planted pairs found, by exact similarity');
console.log(`    ${'similarity'.padEnd(14)} ${'pairs'.padStart(6)} ${'default'.padStart(10)} ${'area'.padStart(12)}`);
for (const row of binRows) console.log(row);
console.log('');
console.log(`${'  throughput, check + add (docs/s)'.padEnd(49)}${'LSH (MinHash)'.padStart(14)}${'exact pairwise'.padStart(18)}${'LSH / exact'.padStart(15)}`);
console.log(`    ${`first ${fmt(SAMPLE)} documents`.padEnd(44)} ${fmt(lshSampleRate).padStart(14)} ${fmt(exactRate).padStart(17)} ${(lshSampleRate / exactRate).toFixed(1).padStart(14)}`);
console.log(`    ${`all ${fmt(DOCS)} documents`.padEnd(44)} ${fmt(lshFullRate).padStart(14)} ${`${fmt(exactFullRate)} (extrap.)`.padStart(17)} ${(lshFullRate / exactFullRate).toFixed(0).padStart(14)}`);
console.log(`    (exact: ${(perPairMs * 1e6).toFixed(0)} ns a pair with the size filter, ${(perDocShingleMs * 1000).toFixed(0)} µs shingling a document; LSH index of ${fmt(DOCS)} documents serialises to ${(lshFullRuns[0]!.bytes / 2 ** 20).toFixed(1)} MiB)`);
