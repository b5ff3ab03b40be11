import { z } from 'zod';
import { loraTargets } from '../model/config.ts';

/** A fine-tuning job's settings; every field has a default that works for the shipped base model. */
export const hyperparametersSchema = z.object({
  rank: z.number().int().min(1).max(256).default(8),
  alpha: z.number().positive().max(1024).default(16),
  targetModules: z.array(z.enum(loraTargets)).min(1).default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
  epochs: z.number().int().min(1).max(100).default(3),
  batchSize: z.number().int().min(1).max(512).default(8),
  learningRate: z.number().positive().max(1).default(2e-3),
  warmupSteps: z.number().int().min(0).default(5),
  minLrRatio: z.number().min(0).max(1).default(0.1),
  weightDecay: z.number().min(0).max(1).default(0),
  maxGradNorm: z.number().min(0).default(1),
  // attention keeps an S×S probability matrix per head and layer for the backward pass
  maxSequenceLength: z.number().int().min(8).max(2048).default(256),
  heldOutFraction: z.number().min(0).max(0.5).default(0.1),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  /** Optimizer steps between checkpoints (a restart resumes from the last one). */
  checkpointEvery: z.number().int().min(1).default(10),
  /** Dimension of the projected per-example gradients kept for attribution. */
  sketchDimension: z.number().int().min(16).max(16384).default(4096),
  /** Checkpoints (evenly spaced epoch ends, the last included) at which every example's gradient is sketched. */
  traceCheckpoints: z.number().int().min(1).max(10).default(3),
}).strict();

export type Hyperparameters = z.infer<typeof hyperparametersSchema>;
