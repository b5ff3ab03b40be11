/**
 * Pre-trains the small base model the project ships (models/openledger-tiny): a byte-level BPE
 * tokenizer and a Llama-architecture decoder trained from scratch by this engine on generated
 * text (src/model/corpus/synthetic-text.ts). Deterministic for its seed.
 *
 *   node scripts/pretrain-base-model.ts [--out models/openledger-tiny] [--minutes 20] [--threads 1]
 */
import { parseArgs } from 'node:util';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackend } from '../src/model/create-backend.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { syntheticCorpus } from '../src/model/corpus/synthetic-text.ts';
import { Llama } from '../src/model/llama.ts';
import { writeModelDir } from '../src/model/model-dir.ts';
import { Tokenizer } from '../src/model/tokenizer.ts';
import { trainByteLevelBpe } from '../src/model/train-bpe.ts';
import { Trainer } from '../src/model/trainer.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'models/openledger-tiny' },
    minutes: { type: 'string', default: '20' },
    threads: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
  },
});
const seed = Number(values.seed);
const SEQ = 128, BATCH = 16;

const bpe = trainByteLevelBpe(syntheticCorpus({ seed, maxChars: 2_000_000 }), { vocabSize: 1024 });
const tokenizer = Tokenizer.fromJson(bpe.tokenizerJson, bpe.tokenizerConfig);
const config: ModelConfig = {
  vocabSize: tokenizer.vocabSize, hiddenSize: 128, intermediateSize: 352, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 32,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 512, tieEmbeddings: true, attentionBias: false,
  bosTokenId: tokenizer.eosId!, eosTokenId: tokenizer.eosId!,
};

// A token stream of documents separated by end-of-text, cut into SEQ+1 windows.
const stream = (function* () {
  let buffer: number[] = [];
  for (const doc of syntheticCorpus({ seed: seed + 1, maxChars: Number.MAX_SAFE_INTEGER })) {
    buffer.push(...tokenizer.encode(doc, { addSpecialTokens: false }));
    while (buffer.length > SEQ + 1) {
      yield Int32Array.from(buffer.slice(0, SEQ + 1));
      buffer = buffer.slice(SEQ);
    }
  }
})();

const backend = createBackend({ threads: Number(values.threads) });
const model = Llama.random(backend, config, seed);
const budgetMs = Number(values.minutes) * 60_000;
// steps are sized from a short timing run so the cosine schedule ends when the time budget does
const probe = new Trainer(model, null, { lr: 0, totalSteps: 1, warmupSteps: 0, minLrRatio: 1, weightDecay: 0, beta1: 0.9, beta2: 0.95, eps: 1e-8, maxGradNorm: 1 });
const batch = () => Array.from({ length: BATCH }, () => {
  const w = stream.next().value as Int32Array;
  return { ids: w.subarray(0, SEQ), targets: w.subarray(1) };
});
let t = performance.now();
await probe.step(batch());
await probe.step(batch());
const msPerStep = (performance.now() - t) / 2;
probe.dispose();
const totalSteps = Math.max(10, Math.floor(budgetMs / msPerStep));
const fresh = Llama.random(backend, config, seed);
const trainer = new Trainer(fresh, null, { lr: 3e-3, totalSteps, warmupSteps: Math.min(100, Math.floor(totalSteps / 10)), minLrRatio: 0.1, weightDecay: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, maxGradNorm: 1 });
console.log(`config ${JSON.stringify(config)}; ${totalSteps} steps of ${BATCH}×${SEQ} tokens (${msPerStep.toFixed(0)} ms/step measured)`);
t = performance.now();
const log: string[] = [];
let recent = 0;
for (let s = 0; s < totalSteps; s++) {
  const r = await trainer.step(batch());
  recent += r.loss;
  if ((s + 1) % 50 === 0 || s + 1 === totalSteps) {
    const line = `step ${s + 1}/${totalSteps} loss ${(recent / (((s % 50) + 1))).toFixed(3)} lr ${r.lr.toExponential(2)} ${((BATCH * SEQ * (s + 1)) / ((performance.now() - t) / 1000)).toFixed(0)} tok/s`;
    recent = 0;
    console.log(line);
    log.push(line);
  }
}
await writeModelDir(values.out!, { config, tokenizer, tensors: await fresh.toTensors() });
await writeFile(join(values.out!, 'training-log.txt'), log.join('\n') + '\n');
await backend.dispose();
console.log(`wrote ${values.out} in ${((performance.now() - t) / 60000).toFixed(1)} min`);
