import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Backend } from '../model/backend.ts';
import { createGradientSketch } from '../model/gradient-sketch.ts';
import { Llama, type LoraAdapter } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import { peftAdapterFiles } from '../model/peft.ts';
import { seededRandom } from '../model/random.ts';
import { parseSafetensors, writeSafetensorsFile } from '../model/safetensors.ts';
import type { TensorMap } from '../model/tensor-map.ts';
import { Trainer, type TrainingExample } from '../model/trainer.ts';
import { asBuffer } from '../util/as-buffer.ts';
import type { Evaluation, TrainingProgress } from './factory-types.ts';
import type { Hyperparameters } from './hyperparameters.ts';
import { readTrainingSet, writeTraceSketches, type TrainingSet } from './training-trace.ts';

export interface TrainingRunOptions {
  /** The base model's folder (config.json, tokenizer.json, safetensors). */
  baseModelDir: string;
  /** Where the training set was written (by writeTrainingSet) and where checkpoints and outputs go. */
  jobDir: string;
  hyperparameters: Hyperparameters;
  /** What the adapter records as its base (the base model's content hash). */
  baseModelId: string;
  backend: Backend;
  onProgress?: (p: TrainingProgress) => void;
  /** Checked between steps; when aborted the run stops after saving a checkpoint. */
  signal?: AbortSignal;
}

export interface TrainingRunResult {
  status: 'completed' | 'cancelled';
  evaluation?: Evaluation;
  /** Files written under jobDir/output: adapter_config.json, adapter_model.safetensors, the trace. */
  outputDir?: string;
}

const CHECKPOINT = 'checkpoint.safetensors';

/** The order of training examples in an epoch: a seeded shuffle, the same on every run. */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const rng = seededRandom((seed * 1_000_003 + epoch) >>> 0);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/**
 * Mean loss of a set of examples (over their target tokens), with or without an adapter.
 *
 * @example
 * const { loss, tokens } = await meanLoss(model, heldOut, lora);
 */
export async function meanLoss(model: Llama, examples: readonly TrainingExample[], lora: LoraAdapter | null): Promise<{ loss: number; tokens: number }> {
  let lossSum = 0, tokens = 0;
  for (const e of examples) {
    const r = await model.loss(e.ids, e.targets, 1, e.ids.length, lora);
    lossSum += r.lossSum;
    tokens += r.tokens;
  }
  return { loss: tokens > 0 ? lossSum / tokens : Number.NaN, tokens };
}

/**
 * Fine-tunes a LoRA adapter on a training set written to `jobDir`, from its last checkpoint if
 * there is one: AdamW over shuffled batches for the given epochs, a checkpoint (adapter, optimizer
 * state, gradient sketches) every `checkpointEvery` steps and when cancelled, then the held-out
 * evaluation against the base model and the outputs: the PEFT adapter files and, for attribution,
 * each training example's gradient sketch: its LoRA gradient, projected and scaled to unit length,
 * at `traceCheckpoints` evenly spaced epoch ends (the last one included), summed (TracIn over a
 * few checkpoints).
 *
 * @example
 * const result = await runTraining({ baseModelDir, jobDir, hyperparameters, baseModelId, backend, onProgress: console.log });
 */
export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const hp = o.hyperparameters;
  const set: TrainingSet = await readTrainingSet(o.jobDir);
  const base = await readModelDir(o.baseModelDir);
  const model = Llama.fromTensors(o.backend, base.config, base.tensors);
  const lora = model.createLora({ r: hp.rank, alpha: hp.alpha, targetModules: hp.targetModules, baseModel: o.baseModelId }, hp.seed);
  const train = set.examples.filter((e) => !e.heldOut);
  const heldOut = set.examples.filter((e) => e.heldOut);
  if (train.length === 0) throw new Error('the training set is empty');
  const stepsPerEpoch = Math.ceil(train.length / hp.batchSize);
  const totalSteps = stepsPerEpoch * hp.epochs;
  const trainer = new Trainer(model, lora, {
    lr: hp.learningRate, totalSteps, warmupSteps: Math.min(hp.warmupSteps, Math.floor(totalSteps / 2)), minLrRatio: hp.minLrRatio,
    weightDecay: hp.weightDecay, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: hp.maxGradNorm,
  });
  const inputLength = trainer.params.reduce((n, p) => n + p.value.length, 0);
  const sketch = createGradientSketch(inputLength, hp.sketchDimension, hp.seed);
  const sketches = new Float32Array(set.examples.length * hp.sketchDimension);

  // the epochs after which every training example's gradient is sketched (evenly spaced, the last one included)
  const traceEpochs = [...new Set(Array.from({ length: hp.traceCheckpoints }, (_, k) => Math.max(1, Math.round((hp.epochs * (k + 1)) / hp.traceCheckpoints))))];
  let passesDone = 0;

  const checkpointPath = join(o.jobDir, CHECKPOINT);
  const saved = await readFile(checkpointPath).catch(() => null);
  if (saved) {
    const state = parseSafetensors(new Uint8Array(saved.buffer, saved.byteOffset, saved.byteLength)).tensors;
    trainer.loadState(state);
    const s = state.get('trace.sketches');
    if (s && s.data.length === sketches.length) sketches.set(s.data);
    passesDone = state.get('trace.passes')?.data[0] ?? 0;
  }
  const checkpoint = async () => {
    const state: TensorMap = await trainer.saveState();
    state.set('trace.sketches', { shape: [set.examples.length, hp.sketchDimension], data: sketches });
    state.set('trace.passes', { shape: [1], data: Float32Array.of(passesDone) });
    await writeSafetensorsFile(checkpointPath, state);
  };

  /**
   * At each trace epoch: every training example's mean-loss gradient at the current weights,
   * sketched, scaled to unit length (so no example weighs more for having a larger loss) and added
   * to its row. Returns whether a pass ran (the caller checkpoints it).
   */
  const tracePassesDue = async (): Promise<boolean> => {
    let ran = false;
    const completedEpochs = Math.floor(trainer.stepsDone / stepsPerEpoch);
    const row = new Float32Array(hp.sketchDimension);
    while (passesDone < traceEpochs.length && traceEpochs[passesDone]! <= completedEpochs) {
      for (const e of train) {
        for (const p of trainer.params) o.backend.fill(p.grad, 0);
        const r = await model.lossAndGradients(e.ids, e.targets, 1, e.ids.length, { lora });
        if (r.tokens === 0) continue;
        row.fill(0);
        sketch.project(await Promise.all(trainer.params.map((p) => o.backend.read(p.grad))), row);
        let norm = 0;
        for (const x of row) norm += x * x;
        norm = Math.sqrt(norm);
        if (norm === 0) continue;
        const out = sketches.subarray(e.index * hp.sketchDimension, (e.index + 1) * hp.sketchDimension);
        for (let i = 0; i < row.length; i++) out[i]! += row[i]! / norm;
      }
      passesDone++;
      ran = true;
    }
    return ran;
  };

  const started = performance.now();
  const firstStep = trainer.stepsDone;
  let tokensSeen = 0;
  while (trainer.stepsDone < totalSteps) {
    if (o.signal?.aborted) {
      await checkpoint();
      return { status: 'cancelled' };
    }
    const stepIndex = trainer.stepsDone;
    const epoch = Math.floor(stepIndex / stepsPerEpoch);
    const order = epochOrder(train.length, hp.seed, epoch);
    const from = (stepIndex % stepsPerEpoch) * hp.batchSize;
    const batch = Array.from(order.subarray(from, Math.min(from + hp.batchSize, train.length)), (i) => train[i]!);
    const result = await trainer.step(batch);
    tokensSeen += result.tokens;
    const elapsed = (performance.now() - started) / 1000;
    const tokensPerSecond = tokensSeen / Math.max(elapsed, 1e-9);
    const stepsLeft = totalSteps - trainer.stepsDone;
    o.onProgress?.({
      step: trainer.stepsDone, totalSteps, epoch, loss: result.loss, lr: result.lr, gradNorm: result.gradNorm, tokens: result.tokens,
      tokensPerSecond, etaSeconds: (stepsLeft * elapsed) / Math.max(1, trainer.stepsDone - firstStep),
    });
    if (await tracePassesDue()) await checkpoint();
    else if (trainer.stepsDone % hp.checkpointEvery === 0 && trainer.stepsDone < totalSteps) await checkpoint();
  }
  await tracePassesDue();
  await checkpoint();

  const baseLoss = await meanLoss(model, heldOut, null);
  const tunedLoss = await meanLoss(model, heldOut, lora);
  const evaluation: Evaluation = {
    examples: heldOut.length,
    tokens: baseLoss.tokens,
    base: { loss: baseLoss.loss, perplexity: Math.exp(baseLoss.loss) },
    tuned: { loss: tunedLoss.loss, perplexity: Math.exp(tunedLoss.loss) },
  };
  const outputDir = join(o.jobDir, 'output');
  await rm(outputDir, { recursive: true, force: true });
  await mkdir(outputDir, { recursive: true });
  const files = peftAdapterFiles(await model.readLora(lora));
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(outputDir, name), asBuffer(bytes));
  await writeTraceSketches(outputDir, set, { dimension: hp.sketchDimension, seed: hp.seed, inputLength, parameterNames: trainer.params.map((p) => p.name) }, sketches);
  await writeFileAtomic(join(outputDir, 'evaluation.json'), JSON.stringify(evaluation, null, 2));
  trainer.dispose();
  model.freeLora(lora);
  model.releaseActivations();
  return { status: 'completed', evaluation, outputDir };
}
