/**
 * What a ModelFactory job buys, and whether its defaults learn: the shipped base model
 * (models/openledger-tiny) fine-tuned on a generated datanet of planted facts
 * (src/model/corpus/planted-facts.ts; the held-out records ask about the same facts in wordings
 * the training records never use) through the same `runTraining` a job runs, with
 *
 * - the factory's defaults (`'auto'` epochs, rank, alpha and learning rate, sized from the
 *   training set; early stopping on the held-out loss), and
 * - the first defaults, as a baseline in the same run (rank 8, alpha 16, 3 epochs, learning rate
 *   2e-3, no early stopping).
 *
 * For each: held-out loss and perplexity (the base model's beside), and answer accuracy — the
 * share of held-out questions (unseen wordings of trained facts) and of training questions whose
 * answer the model generates exactly.
 *
 * Run: `npm run bench -- finetune-quality` (options: --facts=40 --seed=1)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { hyperparametersSchema, type Hyperparameters } from '../src/factory/hyperparameters.ts';
import { runTraining } from '../src/factory/run-training.ts';
import { defaultTemplate, renderTemplate } from '../src/factory/template.ts';
import { encodeExample, type TrainingItem } from '../src/factory/training-data.ts';
import { writeTrainingSet } from '../src/factory/training-trace.ts';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import { generatePlantedFacts } from '../src/model/corpus/planted-facts.ts';
import { createBackend } from '../src/model/create-backend.ts';
import { Tokenizer } from '../src/model/tokenizer.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const seed = Number(arg('seed', '1'));
const dataset = generatePlantedFacts({ seed, facts: Number(arg('facts', '40')) });
const tokenizer = await Tokenizer.fromDir(SHIPPED_BASE_MODEL.path);
const item = (r: { prompt: string; response: string }, i: number): TrainingItem => ({
  contributionId: `0x${i.toString(16).padStart(64, '0')}` as Hex, datanetId: 1, order: i,
  ...encodeExample(tokenizer, renderTemplate(defaultTemplate, r), 256)!,
});
const configurations: Array<[string, Hyperparameters]> = [
  ['defaults (auto, early stopping)', hyperparametersSchema.parse({ seed })],
  ['first defaults (rank 8, 3 epochs, lr 2e-3)', hyperparametersSchema.parse({ seed, rank: 8, alpha: 16, epochs: 3, learningRate: 2e-3, earlyStoppingPatience: 0 })],
];
const backend = createBackend();
console.log(`planted facts: ${dataset.facts.length} facts, ${dataset.train.length} training records, ${dataset.heldOut.length} held-out records (unseen wordings)`);
try {
  for (const [label, hyperparameters] of configurations) {
    const jobDir = mkdtempSync(join(tmpdir(), 'openledger-bench-finetune-'));
    try {
      await writeTrainingSet(jobDir, { train: dataset.train.map(item), heldOut: dataset.heldOut.map((r, i) => item(r, 100_000 + i)), skipped: [] });
      const started = performance.now();
      let last = { tokensPerSecond: 0, totalSteps: 0, step: 0 };
      const result = await runTraining({ baseModelDir: SHIPPED_BASE_MODEL.path, jobDir, hyperparameters, baseModelId: 'openledger-tiny', backend, onProgress: (p) => { if ((p.phase ?? 'training') === 'training') last = p; } });
      const e = result.evaluation!;
      const hp = e.hyperparameters!;
      const pct = (a: { exact: number; checked: number; wordRecall: number }) => `${((100 * a.exact) / a.checked).toFixed(1)} % (${a.exact}/${a.checked}; ${(100 * a.wordRecall).toFixed(1)} % of the answer's words)`;
      console.log(`\n${label}: rank ${hp.rank}, alpha ${hp.alpha}, lr ${hp.learningRate}, ${hp.epochs} epochs at most${e.earlyStopping ? ` (${e.earlyStopping.stopped ? 'stopped after' : 'ran'} ${e.earlyStopping.epochsRun}, kept epoch ${e.earlyStopping.bestEpoch})` : ''}; ${last.step} steps in ${((performance.now() - started) / 1000).toFixed(1)} s (${last.tokensPerSecond.toFixed(0)} tokens/s, 2 threads)`);
      console.log(`  held-out loss        base ${e.base.loss.toFixed(4)}   fine-tuned ${e.tuned.loss.toFixed(4)}   (${e.tokens} response tokens)`);
      console.log(`  held-out perplexity  base ${e.base.perplexity.toFixed(2)}   fine-tuned ${e.tuned.perplexity.toFixed(2)}   ratio ${(e.tuned.perplexity / e.base.perplexity).toFixed(3)}× of the base`);
      console.log(`  answers exactly right: held-out questions ${pct(e.answers!.heldOut)}, training questions ${pct(e.answers!.trained)}`);
    } finally {
      rmSync(jobDir, { recursive: true, force: true });
    }
  }
} finally {
  await backend.dispose();
}
