import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Backend } from '../model/backend.ts';
import { createBlockedSketch } from '../model/gradient-sketch.ts';
import { Llama, type LoraAdapter } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import { peftAdapterFiles } from '../model/peft.ts';
import { seededRandom } from '../model/random.ts';
import { parseSafetensors, writeSafetensorsFile } from '../model/safetensors.ts';
import type { TensorMap } from '../model/tensor-map.ts';
import { Trainer } from '../model/trainer.ts';
import { asBuffer } from '../util/as-buffer.ts';
import { EarlyStopping } from './early-stopping.ts';
import { evaluate, meanLoss } from './evaluate.ts';
import type { Evaluation, TrainingProgress } from './factory-types.ts';
import { resolveHyperparameters, type Hyperparameters, type ResolvedHyperparameters } from './hyperparameters.ts';
import { readTrainingSet, writeTrace, type GradientInfo, type TrainingSet } from './training-trace.ts';

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
 * Fine-tunes a LoRA adapter on a training set written to `jobDir`, from its last checkpoint if
 * there is one: `'auto'` hyperparameters sized from the training set, AdamW over shuffled batches,
 * a checkpoint (adapter, optimizer state, early-stopping state) every `checkpointEvery` steps, at
 * every epoch end and when cancelled; the held-out loss after every epoch, stopping early when it
 * no longer improves (the best epoch's adapter is kept). Then the evaluation (held-out loss and
 * answer accuracy of the base model and the fine-tuned one) and the outputs: the PEFT adapter files
 * and the attribution trace, with each training example's projected LoRA gradient at the final
 * weights (one sketch block per transformer layer).
 *
 * @example
 * const result = await runTraining({ baseModelDir, jobDir, hyperparameters, baseModelId, backend, onProgress: console.log });
 */
export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const set: TrainingSet = await readTrainingSet(o.jobDir);
  const train = set.examples.filter((e) => !e.heldOut);
  const heldOut = set.examples.filter((e) => e.heldOut);
  if (train.length === 0) throw new Error('the training set is empty');
  const hp = resolveHyperparameters(o.hyperparameters, train.length);
  const base = await readModelDir(o.baseModelDir);
  const model = Llama.fromTensors(o.backend, base.config, base.tensors, base.quantized);
  const lora = model.createLora({ r: hp.rank, alpha: hp.alpha, targetModules: hp.targetModules, baseModel: o.baseModelId }, hp.seed);
  const stepsPerEpoch = Math.ceil(train.length / hp.batchSize);
  const totalSteps = stepsPerEpoch * hp.epochs;
  const trainer = new Trainer(model, lora, {
    lr: hp.learningRate, totalSteps, warmupSteps: Math.min(hp.warmupSteps, Math.floor(totalSteps / 2)), minLrRatio: hp.minLrRatio,
    weightDecay: hp.weightDecay, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: hp.maxGradNorm,
  });
  const stopping = new EarlyStopping(hp.earlyStoppingPatience > 0 && heldOut.length > 0 ? hp.earlyStoppingPatience : 0);

  const checkpointPath = join(o.jobDir, CHECKPOINT);
  const saved = await readFile(checkpointPath).catch(() => null);
  if (saved) {
    const state = parseSafetensors(new Uint8Array(saved.buffer, saved.byteOffset, saved.byteLength)).tensors;
    trainer.loadState(state);
    stopping.load(state);
  }
  const checkpoint = async () => {
    const state: TensorMap = await trainer.saveState();
    stopping.save(state);
    await writeSafetensorsFile(checkpointPath, state);
  };

  const started = performance.now();
  const firstStep = trainer.stepsDone;
  let tokensSeen = 0;
  let lastReport: TrainingProgress | null = null;
  while (trainer.stepsDone < totalSteps && !stopping.stopped) {
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
    lastReport = {
      phase: 'training', step: trainer.stepsDone, totalSteps, epoch, epochs: hp.epochs, loss: result.loss, lr: result.lr, gradNorm: result.gradNorm, tokens: result.tokens,
      tokensPerSecond, etaSeconds: (stepsLeft * elapsed) / Math.max(1, trainer.stepsDone - firstStep),
      ...(stopping.best ? { heldOutLoss: stopping.last, bestEpoch: stopping.best.epoch } : {}),
    };
    o.onProgress?.(lastReport);
    const epochEnd = trainer.stepsDone % stepsPerEpoch === 0;
    if (epochEnd && stopping.enabled) {
      const loss = (await meanLoss(model, heldOut, lora)).loss;
      await stopping.observe(trainer.stepsDone / stepsPerEpoch - 1, loss, async () => new Map(await Promise.all(trainer.params.map(async (p) => [p.name, await o.backend.read(p.value)] as const))));
    }
    if (epochEnd || (trainer.stepsDone % hp.checkpointEvery === 0 && trainer.stepsDone < totalSteps)) await checkpoint();
  }
  await checkpoint();
  // stopped early: the run is as long as it went (the job's step count reaches its total)
  if (stopping.stopped && lastReport) o.onProgress?.({ ...lastReport, totalSteps: trainer.stepsDone, etaSeconds: 0, heldOutLoss: stopping.last });
  // the best epoch's adapter, when early stopping watched the held-out loss
  if (stopping.best) for (const p of trainer.params) o.backend.write(p.value, stopping.best.weights.get(p.name)!);

  const evaluation = await evaluate(model, lora, { heldOut, train, eosId: base.tokenizer.eosId ?? null, decode: (ids) => base.tokenizer.decode(ids, { skipSpecialTokens: true }), report: (done, total) => o.onProgress?.(phaseProgress('evaluating', done, total, hp.epochs)) });
  evaluation.hyperparameters = hp;
  if (stopping.best) evaluation.earlyStopping = { bestEpoch: stopping.best.epoch + 1, epochsRun: stopping.epochsSeen, stopped: stopping.stopped };
  const gradients = await traceGradients(model, lora, set, hp, (done, total) => o.onProgress?.(phaseProgress('tracing', done, total, hp.epochs)));
  const outputDir = join(o.jobDir, 'output');
  await rm(outputDir, { recursive: true, force: true });
  await mkdir(outputDir, { recursive: true });
  const files = peftAdapterFiles(await model.readLora(lora));
  for (const [name, bytes] of Object.entries(files)) await writeFileAtomic(join(outputDir, name), asBuffer(bytes));
  await writeTrace(outputDir, set, gradients.info, gradients.rows);
  await writeFileAtomic(join(outputDir, 'evaluation.json'), JSON.stringify(evaluation, null, 2));
  trainer.dispose();
  model.freeLora(lora);
  model.releaseActivations();
  return { status: 'completed', evaluation, outputDir };
}

function phaseProgress(phase: 'evaluating' | 'tracing', done: number, total: number, epochs: number): TrainingProgress {
  return { phase, step: done, totalSteps: total, epoch: epochs - 1, epochs, loss: 0, lr: 0, gradNorm: 0, tokens: 0, tokensPerSecond: 0, etaSeconds: 0 };
}

/**
 * Every example's mean-loss LoRA gradient at the current weights, projected by a blocked
 * CountSketch with one block per transformer layer (the dimensions split evenly): the trace's
 * `gradients.f32`. Held-out rows stay zero.
 */
async function traceGradients(model: Llama, lora: LoraAdapter, set: TrainingSet, hp: ResolvedHyperparameters, report: (done: number, total: number) => void): Promise<{ info: GradientInfo; rows: Float32Array }> {
  const params = model.loraParameters(lora);
  const parameterBlocks = params.map((p) => layerOf(p.name));
  const layers = model.config.numLayers;
  const blockDimensions = Array.from({ length: layers }, (_, b) => Math.floor(hp.sketchDimension / layers) + (b < hp.sketchDimension % layers ? 1 : 0)).filter((d) => d > 0);
  const sketch = createBlockedSketch(params.map((p) => p.value.length), parameterBlocks, blockDimensions, hp.seed);
  const D = sketch.dimension;
  const rows = new Float32Array(set.examples.length * D);
  const train = set.examples.filter((e) => !e.heldOut);
  for (const [k, e] of train.entries()) {
    for (const p of params) model.backend.fill(p.grad, 0);
    const r = await model.lossAndGradients(e.ids, e.targets, 1, e.ids.length, { lora });
    if (r.tokens > 0) sketch.project(await Promise.all(params.map((p) => model.backend.read(p.grad))), rows.subarray(e.index * D, (e.index + 1) * D));
    if (k % 16 === 15 || k === train.length - 1) report(k + 1, train.length);
  }
  const info: GradientInfo = { dimension: D, seed: hp.seed, inputLength: params.reduce((n, p) => n + p.value.length, 0), parameterNames: params.map((p) => p.name), parameterBlocks, blockDimensions };
  return { info, rows };
}

/** The transformer layer of a PEFT adapter tensor (`…layers.3.self_attn.q_proj.lora_A.weight` → 3). */
function layerOf(name: string): number {
  const m = /\.layers\.(\d+)\./.exec(name);
  if (!m) throw new Error(`adapter tensor ${name} names no layer`);
  return Number(m[1]);
}
