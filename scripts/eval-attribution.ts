/**
 * Attribution quality, measured (`npm run eval:attribution`): the short run of
 * src/attribution/evaluation/evaluate-attribution.ts — one seed, 8 half-subset retrains for the
 * linear datamodeling score, no leave-one-out. `npm run bench -- attribution` runs the long one
 * (several seeds, 24 half-subsets, leave one contributor out).
 *
 * Options: --seed=1 --clusters=10 --subsets=8 --loo --referee --gibberish=20 --epochs=… --lr=… --rank=…
 *          --span-weight-bps=5000 --evidence-threshold-ppm=… --influence=fisher --damping=0.1
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAttributionSettings } from '../src/attribution/receipt-attribution.ts';
import { evaluateAttribution } from '../src/attribution/evaluation/evaluate-attribution.ts';
import type { InfluenceMethod } from '../src/attribution/influence.ts';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import { createBackend } from '../src/model/create-backend.ts';

const arg = (name: string, fallback?: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));
const hp = Object.fromEntries([['epochs', 'epochs'], ['lr', 'learningRate'], ['rank', 'rank']].flatMap(([flag, key]) => (arg(flag!) ? [[key!, Number(arg(flag!))]] : [])));
const backend = createBackend();
const workDir = mkdtempSync(join(tmpdir(), 'openledger-eval-attribution-'));
const parameters = {
  ...defaultAttributionSettings,
  spanWeightBps: num('span-weight-bps', 5000), thresholdPpm: num('threshold-ppm', 10_000), evidenceThresholdPpm: num('evidence-threshold-ppm', 400_000),
  influence: (arg('influence') as InfluenceMethod | undefined) ?? defaultAttributionSettings.influence, damping: num('damping', defaultAttributionSettings.damping),
  groupThreshold: num('group-threshold', defaultAttributionSettings.groupThreshold), nullZ: num('null-z', defaultAttributionSettings.nullZ),
};
// --compare='{"damping":0.1}' --compare='{"spanWeightBps":7000}': the same answers under other parameters
const alternatives = process.argv.filter((a) => a.startsWith('--compare=')).map((a) => ({ label: a.slice('--compare='.length), parameters: { ...parameters, ...(JSON.parse(a.slice('--compare='.length)) as object) } }));
try {
  await evaluateAttribution({
    baseModelDir: SHIPPED_BASE_MODEL.path, backend, workDir,
    seed: num('seed', 1), clusters: num('clusters', 10), hyperparameters: hp,
    parameters, alternatives,
    subsets: num('subsets', 8), leaveOneOut: process.argv.includes('--loo'), referee: process.argv.includes('--referee'), gibberish: num('gibberish', 20),
    influenceVariants: [{ method: 'tracin-cosine', damping: 0 }, { method: 'datainf', damping: 0.1 }, { method: 'fisher', damping: 0.1 }, { method: 'fisher', damping: 1 }],
    log: console.log,
    verbose: process.argv.includes('--verbose'),
  });
} finally {
  await backend.dispose();
  rmSync(workDir, { recursive: true, force: true });
}
