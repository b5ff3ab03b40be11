import type { ModelConfig } from './config.ts';
import { createCpuBackend } from './cpu/cpu-backend.ts';
import { naiveMatmul } from './cpu/naive-matmul.ts';

/** A CPU backend on the reference product (for tests that check the model, not the kernels). */
export function referenceBackend() {
  return createCpuBackend({ matmul: naiveMatmul, name: 'cpu-reference' });
}

/** A tiny config with grouped-query attention, for fast exact tests. */
export function tinyConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    vocabSize: 37, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
    rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 64, tieEmbeddings: false, attentionBias: false, ...overrides,
  };
}
