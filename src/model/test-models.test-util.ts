import type { MatmulLayout } from './backend.ts';
import type { ModelConfig } from './config.ts';
import { createCpuBackend } from './cpu/cpu-backend.ts';

/** A plain triple-loop product (float64 accumulation): the reference the kernels are checked against. */
export function naiveMatmul(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, layout: MatmulLayout, accumulate: boolean, alpha: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = layout === 'tn' ? a[p * m + i]! : a[i * k + p]!;
        const bv = layout === 'nt' ? b[j * k + p]! : b[p * n + j]!;
        s += av * bv;
      }
      c[i * n + j] = (accumulate ? c[i * n + j]! : 0) + alpha * s;
    }
  }
}

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
