/**
 * Attribution quality, measured (`npm run eval:attribution`).
 *
 * 1. Recall: the shipped base model is fine-tuned (ModelFactory's runTraining, default settings)
 *    on a generated datanet of planted facts — invented entities with one fact each, several
 *    training records (contributions) per fact. For every fact the model is asked its held-out
 *    question (a wording no training record uses) and answers greedily; the answer is attributed,
 *    and the ranking is correct when its top contribution plants that fact (top-1), or one of its
 *    top five does (top-5). Reported for span attribution, gradient influence and the combination
 *    (the governance default: half and half), separately, and for all answers and for the answers
 *    that state the fact.
 * 2. Leave-one-out at tiny scale: for a few questions, retrain without each of several candidate
 *    contributions (those planting the fact and others), measure the change of the loss of the
 *    fact's answer, and correlate it (Spearman) with the contribution's influence score.
 *
 * Options: --facts=40 --epochs=20 --lr=0.005 --rank=16 --seed=1 --sketch=4096 --trace-checkpoints=3 --loo-queries=2 --loo-candidates=6 --no-loo --verbose
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { attribute, type AttributionModel } from '../src/attribution/attribute.ts';
import type { SpanIndex } from '../src/attribution/span-index.ts';
import { openTraceSpans } from '../src/attribution/trace-spans.ts';
import { readTrace } from '../src/attribution/trace.ts';
import { hyperparametersSchema, type Hyperparameters } from '../src/factory/hyperparameters.ts';
import { meanLoss, runTraining } from '../src/factory/run-training.ts';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import { defaultTemplate, renderTemplate } from '../src/factory/template.ts';
import { encodeExample, type TrainingItem } from '../src/factory/training-data.ts';
import { promptTokens } from '../src/model/prompt-tokens.ts';
import { writeTrainingSet } from '../src/factory/training-trace.ts';
import { generatePlantedFacts, type PlantedRecord } from '../src/model/corpus/planted-facts.ts';
import { createBackend } from '../src/model/create-backend.ts';
import { generate } from '../src/model/generate.ts';
import { Llama } from '../src/model/llama.ts';
import { readModelDir } from '../src/model/model-dir.ts';
import { loadPeftAdapter } from '../src/model/peft.ts';
import { seededRandom } from '../src/model/random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const seed = Number(arg('seed', '1'));
const dataset = generatePlantedFacts({ seed, facts: Number(arg('facts', '40')) });
const hp: Hyperparameters = hyperparametersSchema.parse({ epochs: Number(arg('epochs', '20')), learningRate: Number(arg('lr', '0.005')), rank: Number(arg('rank', '16')), alpha: Number(arg('rank', '16')) * 2, seed, heldOutFraction: 0, sketchDimension: Number(arg('sketch', '4096')), traceCheckpoints: Number(arg('trace-checkpoints', '3')) });
const base = await readModelDir(SHIPPED_BASE_MODEL.path);
const tok = base.tokenizer;
const backend = createBackend();
const work = mkdtempSync(join(tmpdir(), 'openledger-eval-attribution-'));
const opened: SpanIndex[] = [];

const contributionId = (r: PlantedRecord) => `0x${Buffer.from(r.id).toString('hex').padEnd(64, '0').slice(0, 64)}` as Hex;
const factOf = new Map(dataset.train.map((r) => [contributionId(r), r.factId]));
const item = (r: PlantedRecord): TrainingItem => ({ contributionId: contributionId(r), datanetId: 1, ...encodeExample(tok, renderTemplate(defaultTemplate, r), hp.maxSequenceLength)! });

/** Fine-tunes on `records` in `dir`; returns the model with its adapter and trace loaded for attribution. */
async function fineTune(dir: string, records: PlantedRecord[]): Promise<AttributionModel> {
  await mkdir(dir, { recursive: true });
  await writeTrainingSet(dir, { train: records.map(item), heldOut: [], skipped: [] });
  const result = await runTraining({ baseModelDir: SHIPPED_BASE_MODEL.path, jobDir: dir, hyperparameters: hp, baseModelId: 'openledger-tiny', backend });
  const model = Llama.fromTensors(backend, base.config, base.tensors);
  const lora = model.loadLora(await loadPeftAdapter(result.outputDir!, { config: base.config }), true);
  const trace = await readTrace(result.outputDir!);
  const spans = await openTraceSpans(join(dir, 'index'), trace, base.config.vocabSize);
  opened.push(spans);
  return { model, lora, tokenizer: tok, trace, spans };
}

const promptIds = (question: string) => promptTokens(tok, renderTemplate(defaultTemplate, { prompt: question, response: '' }).prompt);
const ranked = (scores: Map<Hex, number>) => [...scores.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);

try {
  const t0 = performance.now();
  const m = await fineTune(join(work, 'full'), dataset.train);
  console.log(`fine-tuned ${SHIPPED_BASE_MODEL.name} on ${dataset.train.length} contributions planting ${dataset.facts.length} facts (${hp.epochs} epochs, rank ${hp.rank}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const signals = ['span', 'gradient', 'combined'] as const;
  const hits = { all: { n: 0, top1: { span: 0, gradient: 0, combined: 0 }, top5: { span: 0, gradient: 0, combined: 0 } }, stated: { n: 0, top1: { span: 0, gradient: 0, combined: 0 }, top5: { span: 0, gradient: 0, combined: 0 } } };
  for (const q of dataset.heldOut) {
    const fact = dataset.facts.find((f) => f.id === q.factId)!;
    const prompt = promptIds(q.prompt);
    const out = await generate(m.model, m.lora, prompt, { maxTokens: 32, stopTokens: [tok.eosId!] });
    const r = await attribute(m, prompt, out.tokens, { spanWeightBps: 5000, thresholdPpm: 0, minSpanLength: 4, commonTokenCount: 50 });
    const rankings = { span: ranked(r.signals.span), gradient: ranked(r.signals.gradient), combined: r.contributions.map((c) => c.contributionId) };
    const stated = tok.decode(out.tokens).includes(fact.object);
    if (process.argv.includes('--verbose')) console.log(`  ${JSON.stringify(q.prompt)} → ${JSON.stringify(tok.decode(out.tokens))} (${fact.object})`);
    for (const group of stated ? [hits.all, hits.stated] : [hits.all]) {
      group.n++;
      for (const s of signals) {
        if (factOf.get(rankings[s][0]!) === fact.id) group.top1[s]++;
        if (rankings[s].slice(0, 5).some((id) => factOf.get(id) === fact.id)) group.top5[s]++;
      }
    }
  }
  const pct = (k: number, n: number) => `${((100 * k) / Math.max(n, 1)).toFixed(1).padStart(5)} %`;
  for (const [label, g] of [['all answers', hits.all], ['answers stating the fact', hits.stated]] as const) {
    console.log(`\n${label}: ${g.n} of ${dataset.heldOut.length}`);
    for (const s of signals) console.log(`  ${s.padEnd(9)} top-1 ${pct(g.top1[s], g.n)}   top-5 ${pct(g.top5[s], g.n)}`);
  }

  if (!process.argv.includes('--no-loo')) {
    const queries = Number(arg('loo-queries', '2')), candidates = Number(arg('loo-candidates', '6'));
    const rng = seededRandom(seed + 7);
    const rank = (xs: number[]) => {
      const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
      const r = new Array<number>(xs.length);
      for (let i = 0; i < order.length; ) {
        let j = i;
        while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
        for (let k = i; k <= j; k++) r[order[k]![1]] = (i + j) / 2;
        i = j + 1;
      }
      return r;
    };
    const spearman = (a: number[], b: number[]) => {
      const ra = rank(a), rb = rank(b), n = a.length, ma = (n - 1) / 2;
      let num = 0, da = 0, db = 0;
      for (let i = 0; i < n; i++) {
        num += (ra[i]! - ma) * (rb[i]! - ma);
        da += (ra[i]! - ma) ** 2;
        db += (rb[i]! - ma) ** 2;
      }
      return num / Math.sqrt(da * db);
    };
    const rhos: number[] = [];
    console.log(`\nleave-one-out: ${queries} questions × ${candidates} candidate contributions, each retrained without`);
    for (let qi = 0; qi < queries; qi++) {
      const q = dataset.heldOut[rng.int(dataset.heldOut.length)]!;
      const fact = dataset.facts.find((f) => f.id === q.factId)!;
      const own = dataset.train.filter((r) => r.factId === fact.id);
      const others = dataset.train.filter((r) => r.factId !== fact.id);
      const picked = [...own.slice(0, Math.ceil(candidates / 2)), ...Array.from({ length: candidates - Math.min(own.length, Math.ceil(candidates / 2)) }, () => others[rng.int(others.length)]!)];
      const prompt = promptIds(q.prompt);
      const answer = tok.encode(` ${q.response}\n`, { addSpecialTokens: false });
      const example = { ids: Int32Array.from([...prompt, ...answer].slice(0, -1)), targets: Int32Array.from([...prompt, ...answer].slice(1), (t, i) => (i + 1 >= prompt.length ? t : -1)) };
      const fullLoss = (await meanLoss(m.model, [example], m.lora)).loss;
      const influence = (await attribute(m, prompt, answer, { spanWeightBps: 0, thresholdPpm: 0, minSpanLength: 4, commonTokenCount: 50 })).signals.gradient;
      const scores: number[] = [], deltas: number[] = [];
      for (const [ci, c] of picked.entries()) {
        const without = await fineTune(join(work, `loo-${qi}-${ci}`), dataset.train.filter((r) => r.id !== c.id));
        deltas.push((await meanLoss(without.model, [example], without.lora)).loss - fullLoss);
        scores.push(influence.get(contributionId(c)) ?? 0);
      }
      const rho = spearman(scores, deltas);
      rhos.push(rho);
      console.log(`  "${q.prompt}" → ${fact.object}: Spearman ${rho.toFixed(3)} (loss change ${deltas.map((d) => d.toFixed(3)).join(', ')})`);
    }
    console.log(`  mean Spearman (gradient influence vs loss change when left out): ${(rhos.reduce((a, b) => a + b, 0) / rhos.length).toFixed(3)}`);
  }
} finally {
  for (const index of opened) await index.close();
  await backend.dispose();
  rmSync(work, { recursive: true, force: true });
}
