import type { ModelConfig } from './config.ts';
import { syntheticCorpus } from './corpus/synthetic-text.ts';
import { Llama } from './llama.ts';
import { writeModelDir } from './model-dir.ts';
import { referenceBackend } from './test-models.test-util.ts';
import { Tokenizer } from './tokenizer.ts';
import { trainByteLevelBpe } from './train-bpe.ts';

/**
 * Writes a small randomly initialised base-model folder (config.json, a tokenizer.json trained on
 * generated text, model.safetensors) for tests that need a base model on disk.
 *
 * @example
 * const config = await writeTinyBaseModel(dir);
 */
export async function writeTinyBaseModel(dir: string, overrides: Partial<ModelConfig> = {}, seed = 1): Promise<ModelConfig> {
  const bpe = trainByteLevelBpe(syntheticCorpus({ seed, maxChars: 100_000 }), { vocabSize: 400 });
  const tokenizer = Tokenizer.fromJson(bpe.tokenizerJson, bpe.tokenizerConfig);
  const config: ModelConfig = {
    vocabSize: tokenizer.vocabSize, hiddenSize: 32, intermediateSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8,
    rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 256, tieEmbeddings: true, attentionBias: false,
    ...(tokenizer.bosId !== undefined ? { bosTokenId: tokenizer.bosId } : {}),
    ...(tokenizer.eosId !== undefined ? { eosTokenId: tokenizer.eosId } : {}),
    ...overrides,
  };
  const model = Llama.random(referenceBackend(), config, seed);
  await writeModelDir(dir, { config, tokenizer, tensors: await model.toTensors() });
  return config;
}
