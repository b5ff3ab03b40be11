import type { Backend, Tensor } from './backend.ts';
import type { Llama, LoraAdapter, Parameter } from './llama.ts';
import type { TensorMap } from './tensor-map.ts';
import { PASS_TOKENS, planPasses } from './training-passes.ts';

/** One training sequence: input ids and the next-token targets (−1 where no loss is taken, e.g. the prompt). */
export interface TrainingExample {
  ids: Int32Array;
  targets: Int32Array;
}

export interface OptimizerOptions {
  /** Peak learning rate. */
  lr: number;
  /** Optimizer steps in the whole run (the cosine schedule ends there). */
  totalSteps: number;
  /** Linear warm-up steps before the cosine decay. */
  warmupSteps: number;
  /** The learning rate at the end, as a fraction of the peak. */
  minLrRatio: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Clip the global gradient norm to this (0 = no clipping). */
  maxGradNorm: number;
}

export const defaultOptimizerOptions: Omit<OptimizerOptions, 'totalSteps'> = {
  lr: 2e-3,
  warmupSteps: 10,
  minLrRatio: 0.1,
  weightDecay: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  maxGradNorm: 1,
};

/**
 * The learning rate at a (0-based) step: linear warm-up, then cosine decay to `minLrRatio · lr`.
 *
 * @example
 * cosineLearningRate(0, { lr: 1e-3, warmupSteps: 10, totalSteps: 100, minLrRatio: 0.1 }); // 1e-4
 */
export function cosineLearningRate(step: number, o: Pick<OptimizerOptions, 'lr' | 'warmupSteps' | 'totalSteps' | 'minLrRatio'>): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const decaySteps = Math.max(1, o.totalSteps - o.warmupSteps);
  const progress = Math.min(1, (step - o.warmupSteps) / decaySteps);
  const min = o.lr * o.minLrRatio;
  return min + 0.5 * (o.lr - min) * (1 + Math.cos(Math.PI * progress));
}

/** What one optimizer step did. */
export interface StepResult {
  /** 0-based index of the step just taken. */
  step: number;
  /** Mean token loss over the batch (nats). */
  loss: number;
  tokens: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  lr: number;
}

/**
 * AdamW with a cosine schedule and global-norm clipping over a model's trainable parameters
 * (a LoRA adapter's, or every base weight for pre-training). Each step runs forward and backward
 * in passes of several examples of similar length at once (training-passes.ts: right-padded, at
 * most `passTokens` padded tokens a pass) and accumulates, so sequences of any length train.
 *
 * @example
 * const lora = model.createLora(loraConfig, seed);
 * const trainer = new Trainer(model, lora, { ...defaultOptimizerOptions, totalSteps: 100 });
 * const { loss } = await trainer.step(examples);
 */
export class Trainer {
  readonly model: Llama;
  readonly lora: LoraAdapter | null;
  readonly params: Parameter[];
  readonly options: OptimizerOptions;
  /** Steps taken so far. */
  stepsDone = 0;
  /** Padded tokens per forward/backward pass (training-passes.ts). */
  readonly passTokens: number;
  private readonly m: Tensor[];
  private readonly v: Tensor[];

  constructor(model: Llama, lora: LoraAdapter | null, options: OptimizerOptions, passes: { passTokens?: number } = {}) {
    this.model = model;
    this.lora = lora;
    this.options = options;
    this.passTokens = passes.passTokens ?? PASS_TOKENS;
    this.params = lora ? model.loraParameters(lora) : model.enableFullGradients();
    const be = model.backend;
    this.m = this.params.map((p) => be.zeros(p.value.length));
    this.v = this.params.map((p) => be.zeros(p.value.length));
  }

  private get backend(): Backend {
    return this.model.backend;
  }

  /**
   * One optimizer step on a batch of examples; the loss is the mean over all target tokens of the batch.
   *
   * @example
   * const { step, loss, gradNorm } = await trainer.step(batch);
   */
  async step(examples: readonly TrainingExample[]): Promise<StepResult> {
    const be = this.backend;
    const tokens = examples.reduce((n, e) => n + e.targets.reduce((c, t) => c + (t >= 0 ? 1 : 0), 0), 0);
    const gradScale = tokens > 0 ? 1 / tokens : 0;
    const lr = cosineLearningRate(this.stepsDone, this.options);
    for (const p of this.params) be.fill(p.grad, 0);

    examples.forEach((e, i) => {
      if (e.ids.length !== e.targets.length || e.ids.length === 0) throw new RangeError(`example ${i}: ids and targets must be non-empty and of equal length`);
    });
    let lossSum = 0;
    for (const { examples: members, length: S } of planPasses(examples.map((e) => e.ids.length), this.passTokens)) {
      const B = members.length;
      // [B, S], each example right-padded (token 0, no target)
      const ids = new Int32Array(B * S), targets = new Int32Array(B * S).fill(-1);
      members.forEach((i, b) => {
        ids.set(examples[i]!.ids, b * S);
        targets.set(examples[i]!.targets, b * S);
      });
      const r = await this.model.lossAndGradients(ids, targets, B, S, { lora: this.lora, gradScale });
      lossSum += r.lossSum;
    }

    const gradNorm = Math.sqrt(await be.sumOfSquares(this.params.map((p) => p.grad)));
    const clip = this.options.maxGradNorm > 0 && gradNorm > this.options.maxGradNorm ? this.options.maxGradNorm / gradNorm : 1;
    const step = ++this.stepsDone;
    this.params.forEach((p, j) => {
      be.adamw(p.value, p.grad, this.m[j]!, this.v[j]!, {
        lr, beta1: this.options.beta1, beta2: this.options.beta2, eps: this.options.eps,
        weightDecay: p.decay ? this.options.weightDecay : 0, step, gradScale: clip,
      });
    });
    return { step: step - 1, loss: tokens > 0 ? lossSum / tokens : 0, tokens, gradNorm, lr };
  }

  /**
   * The optimizer's state (parameters, both moments, step count) for a checkpoint.
   *
   * @example
   * await writeFile(path, writeSafetensors(await trainer.saveState()));
   */
  async saveState(): Promise<TensorMap> {
    const out: TensorMap = new Map();
    for (let j = 0; j < this.params.length; j++) {
      const p = this.params[j]!;
      out.set(p.name, { shape: [p.value.length], data: await this.backend.read(p.value) });
      out.set(`optimizer.m.${p.name}`, { shape: [p.value.length], data: await this.backend.read(this.m[j]!) });
      out.set(`optimizer.v.${p.name}`, { shape: [p.value.length], data: await this.backend.read(this.v[j]!) });
    }
    out.set('optimizer.step', { shape: [1], data: Float32Array.of(this.stepsDone) });
    return out;
  }

  /**
   * Restores a state written by {@link saveState} (same model shape and trainable set).
   *
   * @example
   * trainer.loadState(readSafetensors(await readFile(path)));
   */
  loadState(state: TensorMap): void {
    const take = (name: string, length: number) => {
      const t = state.get(name);
      if (!t || t.data.length !== length) throw new RangeError(`checkpoint: ${name} is missing or has the wrong size`);
      return t.data;
    };
    this.params.forEach((p, j) => {
      this.backend.write(p.value, take(p.name, p.value.length));
      this.backend.write(this.m[j]!, take(`optimizer.m.${p.name}`, p.value.length));
      this.backend.write(this.v[j]!, take(`optimizer.v.${p.name}`, p.value.length));
    });
    this.stepsDone = take('optimizer.step', 1)[0]!;
  }

  /** Frees the optimizer's moment buffers. */
  dispose(): void {
    for (const t of [...this.m, ...this.v]) this.backend.free(t);
  }
}
