/**
 * Proof of Attribution against its referees, the long run: `evaluateAttribution`
 * (src/attribution/evaluation/evaluate-attribution.ts) for several seeds — each a fresh benchmark
 * datanet of look-alike facts, a fine-tune with ModelFactory's defaults, rankings beside BM25 and
 * random baselines, 24 half-subset retrains for the linear datamodeling score, one retrain per
 * left-out contributor — then the medians over seeds of the headline figures, each beside its
 * target (issue 15) and its baseline from the same runs.
 *
 * Run: `npm run bench -- attribution` (options: --seeds=1,2,3 --clusters=10 --subsets=24 --no-loo).
 * About 20 minutes a seed on 2 cores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAttributionSettings } from '../src/attribution/receipt-attribution.ts';
import { evaluateAttribution } from '../src/attribution/evaluation/evaluate-attribution.ts';
import { median } from '../src/attribution/evaluation/metrics.ts';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import { createBackend } from '../src/model/create-backend.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const backend = createBackend();
const runs: Array<Record<string, number>> = [];
try {
  for (const seed of seeds) {
    const workDir = mkdtempSync(join(tmpdir(), 'openledger-bench-attribution-'));
    console.log(`\n═══ seed ${seed} ═══`);
    try {
      runs.push(await evaluateAttribution({
        baseModelDir: SHIPPED_BASE_MODEL.path, backend, workDir, seed, clusters: Number(arg('clusters', '10')), hyperparameters: {},
        parameters: { ...defaultAttributionSettings, spanWeightBps: 5000, thresholdPpm: 10_000, evidenceThresholdPpm: 400_000 },
        subsets: Number(arg('subsets', '24')), leaveOneOut: !process.argv.includes('--no-loo'), referee: true, gibberish: 20,
        influenceVariants: [{ method: 'tracin-cosine', damping: 0 }, { method: 'fisher', damping: 0.1 }, { method: 'fisher', damping: 1 }, { method: 'datainf', damping: 0.1 }, { method: 'relatif', damping: 0.1 }],
        log: console.log,
      }));
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }
} finally {
  await backend.dispose();
}

const m = (key: string) => median(runs.map((r) => r[key]!).filter((x) => Number.isFinite(x)));
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const chosen = `lds.${defaultAttributionSettings.influence} λ=${defaultAttributionSettings.damping}, content tokens`;
console.log(`\n═══ medians over seeds ${seeds.join(', ')} (threads: the CPU backend's default) ═══`);
console.log(`answers stating the fact: combined top-1 ${pct(m('stated.combined.top1'))} (target ≥ 97 %; BM25 ${pct(m('stated.bm25.top1'))}); share to the fact's records ${pct(m('stated.share.right'))}`);
console.log(`worded as in training:    combined top-1 ${pct(m('trained.combined.top1'))} (target ≥ BM25's ${pct(m('trained.bm25.top1'))})`);
console.log(`paraphrased:              combined top-1 ${pct(m('paraphrased.combined.top1'))} (target ≥ BM25's ${pct(m('paraphrased.bm25.top1'))}); share to the fact's records ${pct(m('paraphrased.share.right'))}`);
console.log(`gibberish paying individual contributors: ${pct(m('gibberish.individuals'))} (target 0); the base model's own answers: ${pct(m('base model.individuals'))}`);
console.log(`LDS: ${chosen.slice(4)} ${m(chosen).toFixed(3)}, raw TracIn cosine ${m('lds.tracin-cosine λ=0').toFixed(3)}, ratio ${(m(chosen) / m('lds.tracin-cosine λ=0')).toFixed(2)}× (target ≥ 2× and > 0.3); the count of the fact's own records in the half scores ${m('lds.oracle').toFixed(3)} (about the ceiling)`);
for (const key of Object.keys(runs[0] ?? {}).filter((k) => k.startsWith('lds.') || k.startsWith('loo.'))) console.log(`  ${key.padEnd(28)} ${m(key).toFixed(3)}`);
console.log(`where the combined ranking and BM25 put different facts first, the combined ranking's fact mattered most (leave-fact-out retrains) in ${pct(m('referee.combined'))} of the answers`);
for (const kind of ['trained', 'paraphrased']) if (runs.some((r) => r[`${kind}.combined.top1.refereed`] !== undefined)) console.log(`${kind}, those answers judged by the referee: combined top-1 ${pct(m(`${kind}.combined.top1.refereed`))}, BM25 ${pct(m(`${kind}.bm25.top1.refereed`))}`);
console.log(`attribution latency p50: ${m('latency.ratio').toFixed(2)}× the first version's work on the same model (target ≤ 2×)`);
