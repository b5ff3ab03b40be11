/**
 * Decode speed of one sequence with quantised weights: a SmolLM2-135M-shaped model (30 layers,
 * hidden 576, MLP 1536, 9/3 heads of 64; the shipped tokenizer's 1,024-token vocabulary, so the
 * output head is not what is measured), random weights exported as a GGUF of each weight type and
 * read back (`readGgufModel`: matrices stay ggml blocks), then greedy `Decoder.step`s of one row.
 * Prints tokens/s, median of `--runs` runs of `--tokens` steps after an 8-token prompt (not timed).
 *
 * Run: `node bench/decode-quant.ts` (options: --types=Q8_0,Q4_0 --tokens=32 --runs=5 --threads=1 --hidden=576 --mlp=1536 --layers=30)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import type { ModelConfig } from '../src/model/config.ts';
import { createBackend } from '../src/model/create-backend.ts';
import { Decoder } from '../src/model/decoder.ts';
import { exportBaseGguf } from '../src/model/export-gguf.ts';
import type { GgufExportDtype } from '../src/model/export-gguf.ts';
import { readGgufModel } from '../src/model/import-gguf.ts';
import { PagedKvCache } from '../src/model/kv-cache.ts';
import { Llama } from '../src/model/llama.ts';
import type { TensorMap } from '../src/model/tensor-map.ts';
import { Tokenizer } from '../src/model/tokenizer.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const types = arg('types', 'Q8_0,Q4_0').split(',') as GgufExportDtype[];
const NEW = Number(arg('tokens', '32')), RUNS = Number(arg('runs', '5')), THREADS = Number(arg('threads', '1'));

const HIDDEN = Number(arg('hidden', '576')), MLP = Number(arg('mlp', '1536')), LAYERS = Number(arg('layers', '30'));
if (HIDDEN % 192 !== 0) throw new RangeError(`--hidden=${HIDDEN}: must be a multiple of 192 (heads of 64, three per KV head)`);

/** SmolLM2-135M's shape by default; `--hidden` (a multiple of 192), `--mlp` and `--layers` change it (Q4_K/Q6_K need widths of whole 256 blocks: e.g. 768 and 2048). */
const config: ModelConfig = {
  vocabSize: 1024, hiddenSize: HIDDEN, intermediateSize: MLP, numLayers: LAYERS, numHeads: HIDDEN / 64, numKvHeads: HIDDEN / 192, headDim: 64,
  rmsNormEps: 1e-5, ropeTheta: 100000, maxPositions: 8192, tieEmbeddings: true, attentionBias: false,
};

/** Random weights (normal / √fan-in; norms one), the same every run. */
function randomWeights(seed: number): TensorMap {
  const rand = generator(seed);
  const normal = () => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
  const out: TensorMap = new Map();
  for (const [name, shape] of Llama.weightShapes(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.endsWith('norm.weight')) data.fill(1);
    else for (let i = 0; i < data.length; i++) data[i] = normal() / Math.sqrt(shape.length === 2 ? shape[1]! : 1);
    out.set(name, { shape, data });
  }
  return out;
}

/** Tokens/s of `NEW` greedy steps of one sequence after an 8-token prompt. */
async function decode(model: Llama): Promise<number> {
  const cache = new PagedKvCache(model.backend, model.config, { numBlocks: Math.ceil((8 + NEW + 16) / 16) + 4, blockSize: 16 });
  try {
    const decoder = new Decoder(model, cache);
    const sample = { temperature: 0, topP: 1, uniform: 0 };
    const rand = generator(7);
    const prompt = Array.from({ length: 8 }, (_, position) => ({ sequence: 's', token: Math.floor(rand() * config.vocabSize), position, adapter: null, ...(position === 7 ? { sample } : {}) }));
    let next = await decoder.step(prompt);
    const t0 = performance.now();
    for (let step = 0; step < NEW; step++) next = await decoder.step([{ sequence: 's', token: next[0]!, position: 8 + step, adapter: null, sample }]);
    return NEW / ((performance.now() - t0) / 1000);
  } finally {
    cache.dispose();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'decode-quant-'));
try {
  const tokenizerJson = (await Tokenizer.fromDir(SHIPPED_BASE_MODEL.path)).toJson();
  const weights = randomWeights(1);
  console.log(`hidden ${HIDDEN}, MLP ${MLP}, ${LAYERS} layers (SmolLM2-135M's heads of 64), random weights; ${THREADS} thread(s); ${NEW} greedy tokens of one sequence, median of ${RUNS} runs`);
  for (const dtype of types) {
    const path = join(dir, `model-${dtype}.gguf`);
    await exportBaseGguf({ config, tensors: weights, tokenizerJson, path, dtype });
    const files = await readGgufModel(path);
    const backend = createBackend({ threads: THREADS });
    const model = Llama.fromTensors(backend, config, files.tensors, files.quantized);
    await decode(model); // warm-up
    const rates: number[] = [];
    for (let r = 0; r < RUNS; r++) rates.push(await decode(model));
    console.log(`${dtype}: ${median(rates).toFixed(1)} tokens/s (runs: ${rates.map((x) => x.toFixed(1)).join(', ')})`);
    await backend.dispose();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
