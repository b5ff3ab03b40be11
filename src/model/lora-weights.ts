import type { LoraTarget } from './config.ts';

/** The hyperparameters that define a LoRA adapter's shape and scale (PEFT's `adapter_config.json`). */
export interface LoraConfig {
  /** Rank of the update. */
  r: number;
  /** Scale numerator: the update is `(alpha / r) · B · A · x`. */
  alpha: number;
  /** Adapted projections, PEFT names. */
  targetModules: LoraTarget[];
  /** What the adapter was trained on: a path, a model name, or `0x…` content hash of the base. */
  baseModel: string;
}

/** One adapted projection: A is [r, in], B is [out, r] (PEFT's layout). */
export interface LoraPair {
  a: Float32Array;
  b: Float32Array;
}

/** A LoRA adapter's weights, layer by layer, as plain host arrays. */
export interface LoraAdapterWeights {
  config: LoraConfig;
  layers: Array<Partial<Record<LoraTarget, LoraPair>>>;
}
