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
import { exportBaseGguf } from '../src/model/export-gguf.ts';
import type { GgufExportDtype } from '../src/model/export-gguf.ts';
import { readGgufModel } from '../src/model/import-gguf.ts';
import { Llama } from '../src/model/llama.ts';
import { Tokenizer } from '../src/model/tokenizer.ts';
import { decodeTokensPerSecond, randomModelWeights } from './_decode.ts';

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

const dir = await mkdtemp(join(tmpdir(), 'decode-quant-'));
try {
  const tokenizerJson = (await Tokenizer.fromDir(SHIPPED_BASE_MODEL.path)).toJson();
  const weights = randomModelWeights(config, 1);
  console.log(`hidden ${HIDDEN}, MLP ${MLP}, ${LAYERS} layers (SmolLM2-135M's heads of 64), random weights; ${THREADS} thread(s); ${NEW} greedy tokens of one sequence, median of ${RUNS} runs`);
  for (const dtype of types) {
    const path = join(dir, `model-${dtype}.gguf`);
    await exportBaseGguf({ config, tensors: weights, tokenizerJson, path, dtype });
    const files = await readGgufModel(path);
    const backend = createBackend({ threads: THREADS });
    const model = Llama.fromTensors(backend, config, files.tensors, files.quantized);
    await decodeTokensPerSecond(model, [null], NEW); // warm-up
    const rates: number[] = [];
    for (let r = 0; r < RUNS; r++) rates.push(await decodeTokensPerSecond(model, [null], NEW));
    console.log(`${dtype}: ${median(rates).toFixed(1)} tokens/s (runs: ${rates.map((x) => x.toFixed(1)).join(', ')})`);
    await backend.dispose();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
