/**
 * Attribution measured against its referees (`npm run eval:attribution`, `npm run bench -- attribution`).
 *
 * The shipped base model is fine-tuned by ModelFactory (`runTraining`, its default settings unless
 * told otherwise) on the attribution benchmark (src/model/corpus/attribution-benchmark.ts:
 * clusters of look-alike facts, near-miss names, split copies). Then:
 *
 * 1. **Rankings**: every question (worded as in training, paraphrased) is answered greedily and
 *    attributed; per question kind, and for the answers that state the fact, each signal's top-1 /
 *    top-5 (is the top contribution one of the fact's records?) beside BM25 over prompt + answer
 *    and a random ranking, and from the receipts themselves the mean share paid to the fact's
 *    records and to its distractors, and how often attribution abstained. Gibberish answers
 *    (random tokens) must pay no individual contributor.
 * 2. **Linear datamodeling score** (TRAK's LDS): adapters trained on random halves of the
 *    contributions; for each answer, Spearman between the loss each half-model gives it and the
 *    sum of each influence method's scores over that half (influence predicts the loss goes down
 *    when helpful examples are in), averaged over answers.
 * 3. **Leave one contributor out**: an adapter trained without each contributor; Spearman, per
 *    answer, between the change of its loss and the contributor's summed influence.
 * 4. **Latency**: attribution per answer (p50), beside the first version's work on the same model
 *    (token spans of ≥ 4 tokens + a backward pass + cosine over the trace).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { keccak256, stringToBytes, type Hex } from 'viem';
import { hyperparametersSchema, resolveHyperparameters, type Hyperparameters } from '../../factory/hyperparameters.ts';
import { meanLoss } from '../../factory/evaluate.ts';
import { runTraining } from '../../factory/run-training.ts';
import { defaultTemplate, renderTemplate } from '../../factory/template.ts';
import { encodeExample, type TrainingItem } from '../../factory/training-data.ts';
import { writeTrainingSet } from '../../factory/training-trace.ts';
import type { Backend } from '../../model/backend.ts';
import { generateAttributionBenchmark, type AttributionBenchmark, type BenchmarkQuery, type BenchmarkRecord } from '../../model/corpus/attribution-benchmark.ts';
import { generate } from '../../model/generate.ts';
import { Llama } from '../../model/llama.ts';
import { readModelDir } from '../../model/model-dir.ts';
import { loadPeftAdapter } from '../../model/peft.ts';
import { promptTokens } from '../../model/prompt-tokens.ts';
import { seededRandom } from '../../model/random.ts';
import type { Tokenizer } from '../../model/tokenizer.ts';
import { attribute, type AttributionParameters } from '../attribute.ts';
import { prepareAttributionModel, type AttributionModel } from '../attribution-model.ts';
import { combineScores } from '../combine-scores.ts';
import { cosineScores } from '../influence.ts';
import { buildLexicalIndex } from '../lexical-index.ts';
import { influenceScores, outputGradient, outputSurprisal } from '../influence-scores.ts';
import { contentTokens } from '../influence-signal.ts';
import type { InfluenceMethod } from '../influence.ts';
import { readTrace } from '../trace.ts';
import { mean, median, ranked, spearman } from './metrics.ts';

export interface EvaluationOptions {
  baseModelDir: string;
  backend: Backend;
  /** Scratch folder (training runs, indexes). */
  workDir: string;
  seed: number;
  /** Benchmark clusters (3–4 facts each). */
  clusters: number;
  /** Over ModelFactory's defaults. */
  hyperparameters: Partial<Hyperparameters>;
  parameters: AttributionParameters;
  /** Half-subset retrains for the LDS (0: none). */
  subsets: number;
  /** Retrain without each contributor. */
  leaveOneOut: boolean;
  /**
   * Where the combined ranking and BM25 put different facts first: retrain without each candidate
   * fact's records (the combined ranking's, BM25's, the label's) and take the one whose absence
   * raises the answer's loss most as the right one (the counterfactual referee of the
   * disagreement); the top-1 figures are printed again with those answers judged by it.
   */
  referee?: boolean;
  /** Influence variants whose LDS is reported beside the configured one. */
  influenceVariants: Array<{ method: InfluenceMethod; damping: number }>;
  /** Gibberish answers (random tokens) and the base model's own answers attributed (neither must pay individual contributors). */
  gibberish: number;
  log: (line: string) => void;
  /** Log every answer whose combined ranking misses its fact, with what was ranked first. */
  verbose?: boolean;
  /** Other parameters to compare on the same answers (one summary line per question kind each). */
  alternatives?: Array<{ label: string; parameters: AttributionParameters }>;
}

/** One answered question. */
interface Answered {
  query: BenchmarkQuery | { factId: null; kind: 'gibberish' | 'base model'; prompt: string; response: string };
  promptIds: number[];
  outputIds: number[];
  output: string;
  /** The answer states the question's fact (names its subject and its value). */
  stated: boolean;
  /**
   * The fact whose records are right for this answer: the fact it states — the question's, or
   * another one when the model mixed entities up (then the records it repeats are what shaped
   * it, not the question's) — else the question's fact. Null for gibberish.
   */
  truth: string | null;
}

/** The question kinds an answer counts in: its query's kind, 'stated', and 'states another fact'. */
const kindsOf = (a: Answered, fact: { id: string } | null) => [a.query.kind, ...(a.stated ? ['stated'] : []), ...(fact && fact.id !== a.query.factId ? ['states another fact'] : [])];

/** Whether `text` names `name` as a whole word. */
const names = (text: string, name: string) => new RegExp(`(^|[^\\p{L}\\p{N}])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}\\p{N}])`, 'u').test(text);

const contributionIdOf = (r: BenchmarkRecord): Hex => keccak256(stringToBytes(r.id));

function items(tok: Tokenizer, records: readonly BenchmarkRecord[]): TrainingItem[] {
  return records.map((r) => ({ contributionId: contributionIdOf(r), datanetId: 1, order: r.order, ...encodeExample(tok, renderTemplate(defaultTemplate, r), 256)! }));
}

/**
 * Fine-tunes on `records` in `dir` with ModelFactory's training run; returns the output folder.
 * Every run trains with the full datanet's settings ('auto' resolved once, for all the records),
 * so a retrain on a subset differs from the full model by its data alone.
 */
async function fineTune(o: EvaluationOptions, tok: Tokenizer, dir: string, records: readonly BenchmarkRecord[], all: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeTrainingSet(dir, { train: items(tok, records), heldOut: [], skipped: [] });
  const hyperparameters = resolveHyperparameters(hyperparametersSchema.parse({ ...o.hyperparameters, heldOutFraction: 0, seed: o.seed }), all);
  const r = await runTraining({ baseModelDir: o.baseModelDir, jobDir: dir, hyperparameters, baseModelId: 'eval', backend: o.backend });
  return r.outputDir!;
}

/** Disagreements between the combined ranking and BM25 refereed by retraining, at most. */
const MAX_REFEREED = 8;

const pct = (x: number) => `${(100 * x).toFixed(1).padStart(5)} %`;

/**
 * Runs the evaluation and logs its tables; returns the headline figures.
 *
 * @example
 * const report = await evaluateAttribution({ ...options, log: console.log });
 */
export async function evaluateAttribution(o: EvaluationOptions): Promise<Record<string, number>> {
  const base = await readModelDir(o.baseModelDir);
  const tok = base.tokenizer;
  const bench: AttributionBenchmark = generateAttributionBenchmark({ seed: o.seed, clusters: o.clusters });
  const factOf = new Map(bench.records.map((r) => [contributionIdOf(r), r.factId]));
  const facts = new Map(bench.facts.map((f) => [f.id, f]));
  const promptOf = (q: string) => promptTokens(tok, renderTemplate(defaultTemplate, { prompt: q, response: '' }).prompt);
  const headline: Record<string, number> = {};

  let t0 = performance.now();
  const fullDir = await fineTune(o, tok, join(o.workDir, 'full'), bench.records, bench.records.length);
  const model = Llama.fromTensors(o.backend, base.config, base.tensors, base.quantized);
  const lora = model.loadLora(await loadPeftAdapter(fullDir, { config: base.config }), 'trainable');
  const m = await prepareAttributionModel({ model, lora, tokenizer: tok, trace: await readTrace(fullDir), cacheDir: join(o.workDir, 'full', 'derived') });
  o.log(`fine-tuned on ${bench.records.length} contributions (${bench.facts.length} facts in ${o.clusters} clusters, ${new Set(bench.records.map((r) => r.contributor)).size} contributors) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  // answers
  const answered: Answered[] = [];
  for (const q of bench.queries) {
    const promptIds = promptOf(q.prompt);
    const out = await generate(model, lora, promptIds, { maxTokens: 32, stopTokens: [tok.eosId!] });
    const output = tok.decode(out.tokens);
    const outputIds = tok.encode(output, { addSpecialTokens: false });
    const states = (f: { subject: string; object: string }) => names(output, f.subject) && names(output, f.object);
    const stated = states(facts.get(q.factId)!);
    const others = bench.facts.filter((f) => f.id !== q.factId && states(f));
    answered.push({ query: q, promptIds, outputIds, output, stated, truth: !stated && others.length === 1 ? others[0]!.id : q.factId });
  }
  const rng = seededRandom(o.seed + 17);
  for (let k = 0; k < o.gibberish; k++) {
    const q = bench.queries[rng.int(bench.queries.length)]!;
    const noise = Array.from({ length: 10 }, () => 3 + rng.int(tok.vocabSize - 3));
    const output = tok.decode(noise, { skipSpecialTokens: true });
    answered.push({ query: { factId: null, kind: 'gibberish', prompt: q.prompt, response: '' }, promptIds: promptOf(q.prompt), outputIds: tok.encode(output, { addSpecialTokens: false }), output, stated: false, truth: null });
    // what the base model answers without the adapter: nothing the datanet taught
    const plain = tok.decode((await generate(model, null, promptOf(q.prompt), { maxTokens: 32, stopTokens: [tok.eosId!] })).tokens);
    answered.push({ query: { factId: null, kind: 'base model', prompt: q.prompt, response: '' }, promptIds: promptOf(q.prompt), outputIds: tok.encode(plain, { addSpecialTokens: false }), output: plain, stated: false, truth: null });
  }
  const stated = answered.filter((a) => a.stated);
  const mixed = answered.filter((a) => a.truth !== null && a.truth !== a.query.factId).length;
  o.log(`answers: ${stated.filter((a) => a.query.kind === 'trained').length}/${bench.queries.length / 2} worded as in training and ${stated.filter((a) => a.query.kind === 'paraphrased').length}/${bench.queries.length / 2} paraphrased state their fact; ${mixed} state another fact (the right records for those are that fact's)`);

  // 1. rankings and payouts
  type Tally = { n: number; top1: number; top5: number };
  const signals = ['span', 'influence', 'combined', 'bm25', 'random'] as const;
  const buckets = new Map<string, { n: number; rank: Record<(typeof signals)[number], Tally>; asked: { combined: number; bm25: number }; right: number[]; distractor: number[]; abstained: number; individuals: number; evidence: number[] }>();
  const bucket = (name: string) => {
    let b = buckets.get(name);
    if (!b) buckets.set(name, (b = { n: 0, rank: Object.fromEntries(signals.map((s) => [s, { n: 0, top1: 0, top5: 0 }])) as Record<(typeof signals)[number], Tally>, asked: { combined: 0, bm25: 0 }, right: [], distractor: [], abstained: 0, individuals: 0, evidence: [] }));
    return b;
  };
  const latencies: number[] = [], v1Latencies: number[] = [];
  /** Answers whose combined ranking and BM25 put different facts first, with the kinds they count in. */
  const disagreements: Array<{ answer: number; kinds: string[]; combined: string; bm25: string }> = [];
  // the baseline: BM25 over the documents as they are (no groups)
  const plainBm25 = buildLexicalIndex(m.trace.examples.map((e) => (e.heldOut ? null : tok.decode([...m.trace.tokens.subarray(e.offset, e.offset + e.length)], { skipSpecialTokens: true }))));
  const liveDocs = m.trace.examples.flatMap((e, i) => (e.heldOut ? [] : [i]));
  const scoresByAnswer: Array<Map<string, Float64Array>> = [];
  for (const a of answered) {
    t0 = performance.now();
    const r = await attribute(m, a.promptIds, a.outputIds, o.parameters);
    latencies.push(performance.now() - t0);
    v1Latencies.push(await firstVersionLatency(m, a.promptIds, a.outputIds));
    const fact = a.truth ? facts.get(a.truth)! : null;
    const kinds = kindsOf(a, fact);
    const query = new Set([...a.query.prompt.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu), ...a.output.toLowerCase().matchAll(/[\p{L}\p{N}]+/gu)].map((x) => x[0]));
    const bm25 = new Map(liveDocs.map((d) => [m.trace.examples[d]!.contributionId, plainBm25.bm25(d, query)]));
    const random = new Map(liveDocs.map((d) => [m.trace.examples[d]!.contributionId, rng.next()]));
    const combined = new Map(combineScores(r.signals.span, r.signals.influence, { spanWeightBps: o.parameters.spanWeightBps, thresholdPpm: 0 }).map((c) => [c.contributionId, c.sharePpm]));
    const rankings = { span: ranked(r.signals.span), influence: ranked(r.signals.influence), combined: ranked(combined), bm25: ranked(bm25), random: ranked(random) };
    const [combinedTop, bm25Top] = [factOf.get(rankings.combined[0]!), factOf.get(rankings.bm25[0]!)];
    if (fact && combinedTop && bm25Top && combinedTop !== bm25Top) disagreements.push({ answer: answered.indexOf(a), kinds, combined: combinedTop, bm25: bm25Top });
    if (o.verbose && (fact ? factOf.get(rankings.combined[0]!) !== fact.id : r.contributions.length > 0)) {
      const text = (id: Hex) => { const rec = bench.records.find((x) => contributionIdOf(x) === id); return rec ? `${rec.factId} "${rec.prompt} ${rec.response}"` : id; };
      o.log(`  MISS ${a.query.kind}: "${a.query.prompt}" → ${JSON.stringify(a.output)} (fact ${fact?.id ?? '-'}; evidence ${r.evidence.scorePpm} coverage ${r.evidence.coverage.toFixed(2)} margin ${r.evidence.influenceMargin.toFixed(1)} gain ${r.evidence.adapterGain.toFixed(2)})`);
      for (const id of rankings.combined.slice(0, 3)) o.log(`      ${(combined.get(id)! / 1e4).toFixed(1)}% span ${(r.signals.span.get(id) ?? 0).toFixed(3)} infl ${(r.signals.influence.get(id) ?? 0).toFixed(3)} ${text(id)}`);
      const right = [...r.signals.span.keys(), ...r.signals.influence.keys()].find((id) => factOf.get(id) === fact?.id);
      if (right) o.log(`      right: span ${(r.signals.span.get(right) ?? 0).toFixed(3)} infl ${(r.signals.influence.get(right) ?? 0).toFixed(3)} ${text(right)}`);
    }
    for (const name of kinds) {
      const b = bucket(name);
      b.n++;
      b.evidence.push(r.evidence.scorePpm / 1e6);
      if (r.evidence.abstained) b.abstained++;
      if (r.contributions.length > 0) b.individuals++;
      if (!fact) continue;
      if (factOf.get(rankings.combined[0]!) === a.query.factId) b.asked.combined++;
      if (factOf.get(rankings.bm25[0]!) === a.query.factId) b.asked.bm25++;
      for (const s of signals) {
        const t = b.rank[s];
        t.n++;
        if (factOf.get(rankings[s][0]!) === fact.id) t.top1++;
        if (rankings[s].slice(0, 5).some((id) => factOf.get(id) === fact.id)) t.top5++;
      }
      const share = (pred: (f: string | undefined) => boolean) => r.contributions.filter((c) => pred(factOf.get(c.contributionId))).reduce((x, c) => x + c.sharePpm, 0) / 1e6;
      b.right.push(share((f) => f === fact.id));
      b.distractor.push(share((f) => f !== undefined && fact.distractors.includes(f)));
    }
  }
  for (const [name, b] of buckets) {
    const ev = [...b.evidence].sort((x, y) => x - y), q = (f: number) => ev[Math.min(ev.length - 1, Math.floor(f * ev.length))]!;
    o.log(`\n${name}: ${b.n} answers; abstained ${pct(b.abstained / b.n)}; paid individual contributors ${pct(b.individuals / b.n)}; evidence min ${pct(q(0))} p10 ${pct(q(0.1))} median ${pct(q(0.5))} max ${pct(q(1))}`);
    if (b.right.length > 0) {
      for (const s of signals) o.log(`  ${s.padEnd(10)} top-1 ${pct(b.rank[s].top1 / b.rank[s].n)}   top-5 ${pct(b.rank[s].top5 / b.rank[s].n)}`);
      o.log(`  (against the question's fact instead of the answer's: combined ${pct(b.asked.combined / b.rank.combined.n)}, bm25 ${pct(b.asked.bm25 / b.rank.bm25.n)})`);
      o.log(`  receipts: mean share to the fact's records ${pct(mean(b.right))}, to its distractors ${pct(mean(b.distractor))}`);
      headline[`${name}.combined.top1`] = b.rank.combined.top1 / b.rank.combined.n;
      headline[`${name}.bm25.top1`] = b.rank.bm25.top1 / b.rank.bm25.n;
      headline[`${name}.share.right`] = mean(b.right);
    }
    headline[`${name}.individuals`] = b.individuals / b.n;
  }
  for (const alt of o.alternatives ?? []) {
    const rows = new Map<string, { n: number; top1: number; right: number[]; distractor: number[]; abstained: number; individuals: number }>();
    for (const a of answered) {
      const r = await attribute(m, a.promptIds, a.outputIds, alt.parameters);
      const fact = a.truth ? facts.get(a.truth)! : null;
      const top = ranked(new Map(combineScores(r.signals.span, r.signals.influence, { spanWeightBps: alt.parameters.spanWeightBps, thresholdPpm: 0 }).map((c) => [c.contributionId, c.sharePpm])))[0];
      for (const name of kindsOf(a, fact)) {
        let row = rows.get(name);
        if (!row) rows.set(name, (row = { n: 0, top1: 0, right: [], distractor: [], abstained: 0, individuals: 0 }));
        row.n++;
        if (r.evidence.abstained) row.abstained++;
        if (r.contributions.length > 0) row.individuals++;
        if (!fact) continue;
        if (top && factOf.get(top) === fact.id) row.top1++;
        row.right.push(r.contributions.filter((c) => factOf.get(c.contributionId) === fact.id).reduce((x, c) => x + c.sharePpm, 0) / 1e6);
        row.distractor.push(r.contributions.filter((c) => fact.distractors.includes(factOf.get(c.contributionId) ?? '')).reduce((x, c) => x + c.sharePpm, 0) / 1e6);
      }
    }
    o.log(`\n${alt.label}: ${[...rows].map(([name, x]) => `${name} ${x.right.length ? `top-1 ${pct(x.top1 / x.n)} right ${pct(mean(x.right))} distractors ${pct(mean(x.distractor))} ` : ''}paid ${pct(x.individuals / x.n)}`).join(' | ')}`);
  }
  o.log(`\nlatency per answer: p50 ${median(latencies).toFixed(1)} ms (the first version's work on the same model: ${median(v1Latencies).toFixed(1)} ms; ratio ${(median(latencies) / median(v1Latencies)).toFixed(2)}×)`);
  headline['latency.ratio'] = median(latencies) / median(v1Latencies);

  // every influence variant's scores per answer (after the timed pass, so caches of the variants do not disturb it)
  if (o.subsets > 0 || o.leaveOneOut) {
    for (const a of answered) {
      const scores = new Map<string, Float64Array>();
      // as attribution scores it (the output's content tokens), then each method on the whole output
      const content = a.outputIds.length > 0 ? contentTokens(await outputSurprisal(m, a.promptIds, a.outputIds)) : undefined;
      for (const [label, v, mask] of [[`${o.parameters.influence} λ=${o.parameters.damping}, content tokens`, { method: o.parameters.influence, damping: o.parameters.damping }, content] as const, ...[{ method: o.parameters.influence, damping: o.parameters.damping }, ...o.influenceVariants].map((v) => [`${v.method} λ=${v.damping}`, v, undefined] as const)]) {
        scores.set(label, a.outputIds.length > 0 ? (await influenceScores(m, await m.influence(v.method, v.damping), a.promptIds, a.outputIds, mask)).scores : new Float64Array(m.trace.examples.length));
      }
      scoresByAnswer.push(scores);
    }
  }

  // 2–3. counterfactual referees
  const questions = answered.map((a, i) => [a, i] as const).filter(([a]) => a.query.factId !== null && a.outputIds.length > 0);
  /** Each given answer's mean loss (over its output tokens) under the adapter in `dir`. */
  const lossesUnder = async (dir: string, answers: readonly Answered[] = questions.map(([a]) => a)) => {
    const l = model.loadLora(await loadPeftAdapter(dir, { config: base.config }));
    const out: number[] = [];
    for (const a of answers) {
      const seq = [...a.promptIds, ...a.outputIds];
      out.push((await meanLoss(model, [{ ids: Int32Array.from(seq.slice(0, -1)), targets: Int32Array.from(seq.slice(1), (t, i) => (i + 1 >= a.promptIds.length ? t : -1)) }], l)).loss);
    }
    model.freeLora(l);
    return out;
  };
  const indexOf = new Map(m.trace.examples.map((e, i) => [e.contributionId, i]));
  const methods = scoresByAnswer[0] ? [...scoresByAnswer[0].keys()] : [];
  if (o.subsets > 0) {
    const subsetRng = seededRandom(o.seed + 99);
    const runs: Array<{ members: number[]; losses: number[] }> = [];
    for (let j = 0; j < o.subsets; j++) {
      t0 = performance.now();
      const records = bench.records.filter(() => subsetRng.next() < 0.5);
      const losses = await lossesUnder(await fineTune(o, tok, join(o.workDir, `subset-${j}`), records, bench.records.length));
      runs.push({ members: records.map((r) => indexOf.get(contributionIdOf(r))!), losses });
      o.log(`  LDS: half-subset ${j + 1}/${o.subsets} trained (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    o.log(`\nlinear datamodeling score (${o.subsets} half-subsets, ${questions.length} answers; Spearman of summed influence with −loss):`);
    for (const method of methods) {
      const rhos = questions.map(([, ai], qi) => spearman(runs.map((run) => run.members.reduce((x, i) => x + scoresByAnswer[ai]!.get(method)![i]!, 0)), runs.map((run) => -run.losses[qi]!)));
      o.log(`  ${method.padEnd(36)} LDS ${mean(rhos).toFixed(3)}`);
      headline[`lds.${method}`] = mean(rhos);
    }
    // a reference, not a method: the number of the answer's fact's own records in the half (what
    // the loss mostly depends on when the model memorised the facts) — about the ceiling here
    const own = questions.map(([a], qi) => spearman(runs.map((run) => run.members.filter((i) => factOf.get(m.trace.examples[i]!.contributionId) === a.truth).length), runs.map((run) => -run.losses[qi]!)));
    o.log(`  ${'(the fact\'s own records in the half)'.padEnd(36)} LDS ${mean(own).toFixed(3)}`);
    headline['lds.oracle'] = mean(own);
  }
  if (o.leaveOneOut) {
    const full = await lossesUnder(fullDir);
    const contributors = [...new Set(bench.records.map((r) => r.contributor))].sort();
    const deltas: number[][] = [];
    for (const c of contributors) {
      const losses = await lossesUnder(await fineTune(o, tok, join(o.workDir, `without-${c}`), bench.records.filter((r) => r.contributor !== c), bench.records.length));
      deltas.push(losses.map((l, qi) => l - full[qi]!));
      o.log(`  leave-one-out: without ${c} trained`);
    }
    o.log(`\nleave one contributor out (${contributors.length} contributors; Spearman of the contributor's summed influence with the rise of the answer's loss without it):`);
    for (const method of methods) {
      const rhos = questions.map(([, ai], qi) => spearman(contributors.map((c) => bench.records.reduce((x, r) => x + (r.contributor === c ? scoresByAnswer[ai]!.get(method)![indexOf.get(contributionIdOf(r))!]! : 0), 0)), deltas.map((d) => d[qi]!)));
      o.log(`  ${method.padEnd(36)} Spearman ${mean(rhos).toFixed(3)}`);
      headline[`loo.${method}`] = mean(rhos);
    }
  }
  // at most this many disagreements are refereed, spread over the answers
  const refereed = disagreements.length <= MAX_REFEREED ? disagreements : Array.from({ length: MAX_REFEREED }, (_, k) => disagreements[Math.floor((k * disagreements.length) / MAX_REFEREED)]!);
  if (o.referee && refereed.length > 0) {
    // one retrain per fact left out, shared by every answer it referees
    const withoutFact = new Map<string, Promise<string>>();
    const dirWithout = (f: string) => {
      if (!withoutFact.has(f)) withoutFact.set(f, fineTune(o, tok, join(o.workDir, `without-${f}`), bench.records.filter((r) => r.factId !== f), bench.records.length));
      return withoutFact.get(f)!;
    };
    o.log(`\nwhere the combined ranking and BM25 put different facts first (${disagreements.length} answers, ${refereed.length} refereed): the rise of the answer's loss without each candidate fact's records (the combined ranking's, BM25's, the label's)`);
    let combinedRight = 0;
    const regraded = new Map<string, { combined: number; bm25: number }>();
    for (const d of refereed) {
      const a = answered[d.answer]!;
      const before = (await lossesUnder(fullDir, [a]))[0]!;
      const candidates = [...new Set([d.combined, d.bm25, a.truth!])];
      const rises = new Map<string, number>();
      for (const f of candidates) rises.set(f, (await lossesUnder(await dirWithout(f), [a]))[0]! - before);
      const winner = candidates.reduce((x, y) => (rises.get(y)! > rises.get(x)! ? y : x));
      if (winner === d.combined) combinedRight++;
      o.log(`  "${a.query.prompt}" → ${JSON.stringify(a.output)}: ${candidates.map((f) => `without ${f}${f === d.combined ? ' (combined)' : ''}${f === d.bm25 ? ' (BM25)' : ''}${f === a.truth ? ' (label)' : ''} ${rises.get(f)!.toFixed(3)}`).join(', ')} → ${winner}`);
      // the top-1 tallies with this answer judged by the referee instead of the label
      for (const kind of d.kinds) {
        const g = regraded.get(kind) ?? { combined: 0, bm25: 0 };
        g.combined += Number(winner === d.combined) - Number(d.combined === a.truth);
        g.bm25 += Number(winner === d.bm25) - Number(d.bm25 === a.truth);
        regraded.set(kind, g);
      }
    }
    o.log(`  the combined ranking's fact mattered most in ${combinedRight} of ${refereed.length}`);
    headline['referee.combined'] = combinedRight / refereed.length;
    for (const [kind, g] of regraded) {
      const b = buckets.get(kind)!;
      const [c, m25] = [(b.rank.combined.top1 + g.combined) / b.rank.combined.n, (b.rank.bm25.top1 + g.bm25) / b.rank.bm25.n];
      o.log(`  ${kind}, refereed answers judged by the referee: combined top-1 ${pct(c)}, bm25 ${pct(m25)}`);
      headline[`${kind}.combined.top1.refereed`] = c;
      headline[`${kind}.bm25.top1.refereed`] = m25;
    }
  }
  await m.spans.close();
  return headline;
}

/**
 * What the first attribution did for one answer, timed: maximal token spans of ≥ 4 tokens with
 * their documents, the output's gradient, and its cosine with every training example.
 */
async function firstVersionLatency(m: AttributionModel, prompt: number[], output: number[]): Promise<number> {
  const t0 = performance.now();
  if (output.length > 0) {
    for (const s of await m.spans.maximalSpans(output, { minLength: 4, commonTokenCount: 50 })) await m.spans.documentsContaining(output.slice(s.start, s.end), 64);
    const features = await m.influence('tracin-cosine', 0.1);
    cosineScores(m.trace.gradients, m.trace.examples.length, features.dimension, (await outputGradient(m, features, prompt, output)).gradient);
  }
  return performance.now() - t0;
}
