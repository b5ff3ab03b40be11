/**
 * What a ModelFactory job buys: held-out loss and perplexity of the shipped base model
 * (models/openledger-tiny) before and after LoRA fine-tuning on a generated datanet of planted
 * facts (src/model/corpus/planted-facts.ts; the held-out records ask about the same facts in
 * wordings the training records never use), with the factory's default hyperparameters, through
 * the same `runTraining` a job runs. The baseline is the base model on the same held-out records.
 *
 * Run: `npm run bench -- finetune-quality` (options: --facts=40 --epochs=3 --seed=1)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { hyperparametersSchema } from '../src/factory/hyperparameters.ts';
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
const hyperparameters = hyperparametersSchema.parse({ epochs: Number(arg('epochs', '3')), seed });
const item = (r: { prompt: string; response: string }, i: number): TrainingItem => ({
  contributionId: `0x${i.toString(16).padStart(64, '0')}` as Hex, datanetId: 1,
  ...encodeExample(tokenizer, renderTemplate(defaultTemplate, r), hyperparameters.maxSequenceLength)!,
});
const jobDir = mkdtempSync(join(tmpdir(), 'openledger-bench-finetune-'));
try {
  await writeTrainingSet(jobDir, { train: dataset.train.map(item), heldOut: dataset.heldOut.map((r, i) => item(r, 100_000 + i)), skipped: [] });
  const backend = createBackend();
  const started = performance.now();
  let last = { tokensPerSecond: 0, totalSteps: 0 };
  const result = await runTraining({ baseModelDir: SHIPPED_BASE_MODEL.path, jobDir, hyperparameters, baseModelId: 'openledger-tiny', backend, onProgress: (p) => (last = p) });
  await backend.dispose();
  const e = result.evaluation!;
  console.log(`planted facts: ${dataset.facts.length} facts, ${dataset.train.length} training records, ${dataset.heldOut.length} held-out records (unseen wordings); rank ${hyperparameters.rank}, ${hyperparameters.epochs} epochs, ${last.totalSteps} steps in ${((performance.now() - started) / 1000).toFixed(1)} s (${last.tokensPerSecond.toFixed(0)} tokens/s)`);
  console.log(`  held-out loss        base ${e.base.loss.toFixed(4)}   fine-tuned ${e.tuned.loss.toFixed(4)}   (${e.tokens} response tokens)`);
  console.log(`  held-out perplexity  base ${e.base.perplexity.toFixed(2)}   fine-tuned ${e.tuned.perplexity.toFixed(2)}   ratio ${(e.tuned.perplexity / e.base.perplexity).toFixed(3)}× of the base`);
} finally {
  rmSync(jobDir, { recursive: true, force: true });
}
