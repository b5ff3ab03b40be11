import { z } from 'zod';
import { loraTargets } from '../model/config.ts';

const auto = z.literal('auto');

/**
 * A fine-tuning job's settings. Every field has a default; `'auto'` (the default of epochs, rank,
 * alpha and learning rate) is sized from the training set when the job starts
 * ({@link resolveHyperparameters}), so a default job on a small datanet trains long enough to
 * learn its facts and a large one does not run for days.
 */
export const hyperparametersSchema = z.object({
  rank: z.union([auto, z.number().int().min(1).max(256)]).default('auto'),
  alpha: z.union([auto, z.number().positive().max(1024)]).default('auto'),
  targetModules: z.array(z.enum(loraTargets)).min(1).default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
  epochs: z.union([auto, z.number().int().min(1).max(1000)]).default('auto'),
  batchSize: z.number().int().min(1).max(512).default(8),
  learningRate: z.union([auto, z.number().positive().max(1)]).default('auto'),
  warmupSteps: z.number().int().min(0).default(5),
  minLrRatio: z.number().min(0).max(1).default(0.1),
  weightDecay: z.number().min(0).max(1).default(0),
  maxGradNorm: z.number().min(0).default(1),
  // training memory is linear in the sequence length (flash attention, decision 0027); compute is not
  maxSequenceLength: z.number().int().min(8).max(2048).default(256),
  heldOutFraction: z.number().min(0).max(0.5).default(0.1),
  /**
   * Stop when the held-out loss has not improved (by 0.5 %) for this many epochs, and keep the
   * adapter of the best epoch (0: train every epoch). Needs a held-out set. Patient by default:
   * on a small datanet the held-out loss plateaus for a few epochs while facts are still being
   * learnt (decision 0011).
   */
  earlyStoppingPatience: z.number().int().min(0).max(100).default(8),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** Optimizer steps between checkpoints (a restart resumes from the last one). */
  checkpointEvery: z.number().int().min(1).default(10),
  /** Dimension of the projected per-example gradients kept for attribution (split between the layers). */
  sketchDimension: z.number().int().min(16).max(16384).default(4096),
}).strict();

export type Hyperparameters = z.infer<typeof hyperparametersSchema>;

/** Hyperparameters with every `'auto'` replaced by its value for a training set. */
export type ResolvedHyperparameters = { [K in keyof Hyperparameters]: Exclude<Hyperparameters[K], 'auto'> };

/** Optimizer steps an `'auto'` job aims for: what the shipped base model needs to state the facts of a small Q&A datanet (decision 0011). */
export const AUTO_TARGET_STEPS = 800;
/** Epoch bounds of `'auto'`: a tiny datanet is not seen hundreds of times, a large one at least twice. */
export const AUTO_EPOCHS = { min: 2, max: 60 } as const;

/**
 * The values of a job's `'auto'` hyperparameters for its number of training examples:
 *
 * - epochs: enough for {@link AUTO_TARGET_STEPS} optimizer steps, within {@link AUTO_EPOCHS}
 *   (early stopping ends it sooner once the held-out loss stops improving);
 * - rank 16 up to 2,000 examples, 32 above (more data, more to hold); alpha = 2 × rank;
 * - learning rate 5e-3 at batch size 8, scaled by √(batch / 8) (AdamW's noise scale).
 *
 * @example
 * resolveHyperparameters(hyperparametersSchema.parse({}), 144); // { epochs: 45, rank: 16, alpha: 32, learningRate: 0.005, … }
 */
export function resolveHyperparameters(hp: Hyperparameters, trainExamples: number): ResolvedHyperparameters {
  const stepsPerEpoch = Math.max(1, Math.ceil(trainExamples / hp.batchSize));
  const rank = hp.rank === 'auto' ? (trainExamples <= 2000 ? 16 : 32) : hp.rank;
  return {
    ...hp,
    rank,
    alpha: hp.alpha === 'auto' ? 2 * rank : hp.alpha,
    epochs: hp.epochs === 'auto' ? Math.min(AUTO_EPOCHS.max, Math.max(AUTO_EPOCHS.min, Math.ceil(AUTO_TARGET_STEPS / stepsPerEpoch))) : hp.epochs,
    learningRate: hp.learningRate === 'auto' ? 5e-3 * Math.sqrt(hp.batchSize / 8) : hp.learningRate,
  };
}
