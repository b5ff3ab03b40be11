/**
 * The engine on real models' shapes against llama.cpp and PyTorch, each figure beside its baseline
 * from the same run: random weights in the configs of SmolLM2-135M and Qwen2.5-0.5B (every layer,
 * width and head; the shipped tokenizer's 1,024-token vocabulary, so the output head is not what
 * is measured), one thread for every engine unless `--threads` says otherwise.
 *
 * - decode tokens/s, 1 sequence and 16 sequences (one rank-8 adapter on all seven projections),
 *   the built-in engine (Decoder with its paged KV cache, greedy) vs llama.cpp (node-llama-cpp's
 *   CPU build, the same model exported as GGUF, the same adapter as GGUF LoRA), per weight type;
 * - 16 sequences over 16 adapters vs over one (the built-in engine; llama.cpp cannot batch them);
 * - LoRA training tokens/s and peak RSS, rank 8 on all projections, 4 × 128 tokens, AdamW: the
 *   engine vs PyTorch CPU (Debian's python3-torch with OpenBLAS; `real-shapes-pytorch.py`, the
 *   same model written out in torch), each in its own process. When torch cannot be imported the
 *   bench installs `python3-torch` and `libopenblas0-pthread` with apt-get where it may (root),
 *   and otherwise prints why that column is empty.
 *
 * - the weights' memory in the engine against the GGUF file's size, per weight type.
 *
 * Run: `npm run bench -- real-shapes` (options: --shapes=smollm2-135m,qwen2.5-0.5b --types=F32,Q8_0,Q4_0
 * --tokens=16 --threads=1 --steps=3 --skip=decode,train,llama.cpp)
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import { projectionShape, type ModelConfig } from '../src/model/config.ts';
import { createBackend } from '../src/model/create-backend.ts';
import { exportAdapterGguf, exportBaseGguf, type GgufExportDtype } from '../src/model/export-gguf.ts';
import { quantizedByteLength } from '../src/model/ggml-quants.ts';
import { readGgufModel } from '../src/model/import-gguf.ts';
import { Llama, type LoraAdapter } from '../src/model/llama.ts';
import { mainEngine } from '../src/model/cpu/matmul.ts';
import type { LoraAdapterWeights } from '../src/model/lora-weights.ts';
import { Tokenizer } from '../src/model/tokenizer.ts';
import { Trainer } from '../src/model/trainer.ts';
import { decodePaired, decodeTokensPerSecond, randomModelWeights } from './_decode.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const THREADS = Number(arg('threads', '1')), NEW = Number(arg('tokens', '16')), STEPS = Number(arg('steps', '3'));
/** Steps of each side when sixteen sequences on one adapter and over sixteen alternate (decodePaired). */
const PAIRED_STEPS = 4 * NEW;
const skip = new Set(arg('skip', '').split(',').filter(Boolean));
const weightTypes = arg('types', 'F32,Q8_0,Q4_0').split(',') as GgufExportDtype[];
const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
const TRAIN_B = 4, TRAIN_S = 128, RANK = 8;

/** The published configs (Hugging Face config.json values), with the shipped tokenizer's vocabulary. */
const shapes: Record<string, ModelConfig> = {
  'smollm2-135m': {
    vocabSize: 1024, hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64,
    rmsNormEps: 1e-5, ropeTheta: 100000, maxPositions: 8192, tieEmbeddings: true, attentionBias: false,
  },
  'qwen2.5-0.5b': {
    architecture: 'qwen2', vocabSize: 1024, hiddenSize: 896, intermediateSize: 4864, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64,
    rmsNormEps: 1e-6, ropeTheta: 1000000, maxPositions: 32768, tieEmbeddings: true, attentionBias: true,
  },
};

function randomAdapter(config: ModelConfig, seed: number): LoraAdapterWeights {
  const rand = generator(seed);
  const layers = Array.from({ length: config.numLayers }, () => Object.fromEntries(targets.map((t) => {
    const { in: inDim, out } = projectionShape(config, t);
    return [t, { a: Float32Array.from({ length: RANK * inDim }, () => (rand() - 0.5) * 0.1), b: Float32Array.from({ length: out * RANK }, () => (rand() - 0.5) * 0.02) }];
  })));
  return { config: { r: RANK, alpha: 2 * RANK, targetModules: [...targets], baseModel: 'bench' }, layers };
}

type NodeLlamaCpp = typeof import('node-llama-cpp');
type LlamaCpp = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;

/** llama.cpp: tokens/s of `NEW` greedy tokens for each of `sequences` sequences of one context (8-token prompts, not timed). */
async function decodeLlamaCpp(llama: LlamaCpp, modelPath: string, sequences: number, adapterPath: string | null): Promise<number> {
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  try {
    const context = await model.createContext({
      contextSize: sequences * (8 + NEW + 8), sequences, batchSize: 512, threads: THREADS, flashAttention: false,
      ...(adapterPath ? { lora: { adapters: [{ filePath: adapterPath, scale: 1 }] } } : {}),
    });
    try {
      const rand = generator(sequences);
      const seqs = Array.from({ length: sequences }, () => context.getSequence());
      const prompts = seqs.map(() => Array.from({ length: 8 }, () => Math.floor(rand() * 1000) as import('node-llama-cpp').Token));
      const runs = seqs.map((seq, i) => seq.evaluate(prompts[i]!, { temperature: 0 })[Symbol.asyncIterator]());
      await Promise.all(runs.map((r) => r.next())); // the prompts and each first token
      const t0 = performance.now();
      await Promise.all(runs.map(async (r) => {
        for (let k = 0; k < NEW; k++) await r.next();
      }));
      const rate = (sequences * NEW) / ((performance.now() - t0) / 1000);
      await Promise.all(runs.map((r) => r.return?.()));
      return rate;
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** One LoRA training measurement in this process (a child): tokens/s over `STEPS` steps after one warm-up, and peak RSS. */
async function trainOurs(config: ModelConfig): Promise<{ tokensPerSecond: number; maxRssMiB: number }> {
  const backend = createBackend({ threads: THREADS });
  const model = Llama.fromTensors(backend, config, randomModelWeights(config, 1));
  const lora = model.createLora({ r: RANK, alpha: 2 * RANK, targetModules: [...targets], baseModel: 'bench' }, 2);
  const trainer = new Trainer(model, lora, { lr: 1e-4, totalSteps: 1000, warmupSteps: 0, minLrRatio: 1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1 });
  const rand = generator(3);
  const batch = () => Array.from({ length: TRAIN_B }, () => {
    const seq = Int32Array.from({ length: TRAIN_S + 1 }, () => Math.floor(rand() * config.vocabSize));
    return { ids: seq.subarray(0, TRAIN_S), targets: seq.subarray(1) };
  });
  await trainer.step(batch());
  const rates: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const b = batch();
    const t0 = performance.now();
    await trainer.step(b);
    rates.push((TRAIN_B * TRAIN_S) / ((performance.now() - t0) / 1000));
  }
  await backend.dispose();
  return { tokensPerSecond: median(rates), maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

/** PyTorch's figure for the same shape, or why there is none. */
function trainPytorch(config: ModelConfig): { tokensPerSecond: number; maxRssMiB: number } | string {
  const script = fileURLToPath(new URL('./real-shapes-pytorch.py', import.meta.url));
  // Debian's torch is for Debian's python (a pyenv or venv python3 first on PATH does not see it)
  const pythons = ['/usr/bin/python3', 'python3'];
  const withTorch = () => pythons.find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
  let python = withTorch();
  if (!python) {
    if (process.getuid?.() !== 0 || spawnSync('which', ['apt-get']).status !== 0) return 'python3-torch is not installed and this user cannot apt-get it';
    console.log('  (installing Debian\'s python3-torch and libopenblas0-pthread for the PyTorch column…)');
    const apt = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'python3-torch', 'libopenblas0-pthread'], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    python = withTorch();
    if (apt.status !== 0 || !python) return `apt-get install python3-torch failed: ${(apt.stderr || apt.stdout).trim().split('\n').at(-1)}`;
  }
  // OpenBLAS runs its own thread pool unless told: pin it to the same threads as torch
  const threadsEnv = { OPENBLAS_NUM_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS), MKL_NUM_THREADS: String(THREADS) };
  const r = spawnSync(python, [script, JSON.stringify({ config, batch: TRAIN_B, seq: TRAIN_S, rank: RANK, steps: STEPS, threads: THREADS })], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, ...threadsEnv } });
  if (r.status !== 0) return `the PyTorch script failed: ${r.stderr.trim().split('\n').at(-1)}`;
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

const child = arg('train-child', '');
if (child) {
  process.stdout.write(JSON.stringify(await trainOurs(shapes[child]!)));
  process.exit(0);
}

const row = (label: string, ours: string, theirs: string, ratio: string) => console.log(`  ${label.padEnd(58)} ${ours.padStart(14)} ${theirs.padStart(22)} ${ratio.padStart(8)}`);
const dir = await mkdtemp(join(tmpdir(), 'openledger-bench-real-'));
const tokenizerJson = (await Tokenizer.fromDir(SHIPPED_BASE_MODEL.path)).toJson();
let llamaCpp: { lib: NodeLlamaCpp; llama: LlamaCpp } | string = 'skipped (--skip=llama.cpp)';
if (!skip.has('llama.cpp')) {
  try {
    const lib = await import('node-llama-cpp');
    llamaCpp = { lib, llama: await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error, progressLogs: false }) };
  } catch (e) {
    llamaCpp = `node-llama-cpp could not be loaded: ${(e as Error).message.split('\n')[0]}`;
  }
}
console.log(`real shapes, random weights, vocabulary 1,024; ${THREADS} thread(s) for every engine; built-in engine's kernels: ${mainEngine()?.kernels ?? 'JavaScript'} (OPENLEDGER_KERNELS=wasm for the WebAssembly ones); decode: ${NEW} greedy tokens per sequence after an 8-token prompt (sixteen sequences on one adapter and over sixteen: ${PAIRED_STEPS} steps each, alternating); training: ${TRAIN_B} × ${TRAIN_S} tokens, rank ${RANK} on all seven projections, AdamW, median of ${STEPS} steps`);
try {
  for (const name of arg('shapes', Object.keys(shapes).join(',')).split(',')) {
    const config = shapes[name];
    if (!config) throw new Error(`unknown shape ${name} (${Object.keys(shapes).join(', ')})`);
    console.log(`\n${name}: ${config.numLayers} layers, hidden ${config.hiddenSize}, intermediate ${config.intermediateSize}, ${config.numHeads}/${config.numKvHeads} heads of ${config.headDim}`);
    row('', 'built-in', 'baseline (same run)', 'ratio');
    const weights = randomModelWeights(config, 1);
    const adapterWeights = Array.from({ length: 16 }, (_, i) => randomAdapter(config, 10 + i));
    const adapterPath = join(dir, `${name}-adapter.gguf`);
    await exportAdapterGguf({ config, adapter: adapterWeights[0]!, path: adapterPath });
    for (const dtype of skip.has('decode') ? [] : weightTypes) {
      // the same weights stored as `dtype`: the engine reads the file (quantised matrices stay blocks), llama.cpp loads it
      const path = join(dir, `${name}-${dtype}.gguf`);
      await exportBaseGguf({ config, tensors: weights, tokenizerJson, path, dtype });
      const fileMiB = (await stat(path)).size / 2 ** 20;
      const files = dtype === 'F32' ? { tensors: weights, quantized: undefined } : await readGgufModel(path);
      const backend = createBackend({ threads: THREADS });
      const model = Llama.fromTensors(backend, config, files.tensors, files.quantized);
      const engineMiB = model.namedWeights().reduce((n, [, t]) => n + (t.dtype === 'f32' || t.dtype === 'i32' ? 4 * t.length : t.dtype === 'f16' ? 2 * t.length : quantizedByteLength(t.dtype, t.length)), 0) / 2 ** 20;
      const adapters = adapterWeights.map((w) => model.loadLora(w, 'serving'));
      await decodeTokensPerSecond(model, [null], NEW); // warm-up
      const medianRate = async (batch: Array<LoraAdapter | null>) => median([await decodeTokensPerSecond(model, batch, NEW), await decodeTokensPerSecond(model, batch, NEW), await decodeTokensPerSecond(model, batch, NEW)]);
      const one = await medianRate([adapters[0]!]), sixteenOnOne = Array<LoraAdapter>(16).fill(adapters[0]!);
      // sixteen sequences on one adapter, and (F32) over sixteen adapters, decoded step by step in
      // alternation: the ratio is the median of the step pairs' (decodePaired)
      const paired = dtype === 'F32' ? await decodePaired(model, sixteenOnOne, adapters, PAIRED_STEPS) : null;
      const sixteen = paired ? paired.a : await medianRate(sixteenOnOne);
      const mixed = paired ? paired.b : 0, mixedRatio = paired ? paired.ratio : 0;
      if (typeof llamaCpp !== 'string') {
        const theirsOne = median([await decodeLlamaCpp(llamaCpp.llama, path, 1, adapterPath), await decodeLlamaCpp(llamaCpp.llama, path, 1, adapterPath), await decodeLlamaCpp(llamaCpp.llama, path, 1, adapterPath)]);
        const theirsSixteen = median([await decodeLlamaCpp(llamaCpp.llama, path, 16, adapterPath), await decodeLlamaCpp(llamaCpp.llama, path, 16, adapterPath)]);
        row(`decode tok/s, 1 sequence, ${dtype}`, one.toFixed(1), `llama.cpp ${theirsOne.toFixed(1)}`, `${(one / theirsOne).toFixed(2)}×`);
        row(`decode tok/s, 16 sequences, 1 adapter, ${dtype}`, sixteen.toFixed(1), `llama.cpp ${theirsSixteen.toFixed(1)}`, `${(sixteen / theirsSixteen).toFixed(2)}×`);
      } else {
        row(`decode tok/s, 1 sequence, ${dtype}`, one.toFixed(1), '—', '');
        row(`decode tok/s, 16 sequences, 1 adapter, ${dtype}`, sixteen.toFixed(1), '—', '');
      }
      if (mixed) row('decode tok/s, 16 sequences over 16 adapters (vs 1 adapter)', mixed.toFixed(1), `1 adapter ${sixteen.toFixed(1)}`, `${mixedRatio.toFixed(2)}×`);
      row(`weights in the engine, MiB (vs the ${dtype} GGUF file)`, engineMiB.toFixed(1), `file ${fileMiB.toFixed(1)}`, `${(engineMiB / fileMiB).toFixed(3)}×`);
      for (const a of adapters) model.freeLora(a);
      model.releaseActivations();
      await backend.dispose();
    }
    if (typeof llamaCpp === 'string') console.log(`  (llama.cpp: ${llamaCpp})`);

    if (!skip.has('train')) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--train-child=${name}`, `--threads=${THREADS}`, `--steps=${STEPS}`], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`training child failed: ${r.stderr}`);
      const ours = JSON.parse(r.stdout) as { tokensPerSecond: number; maxRssMiB: number };
      const torch = trainPytorch(config);
      if (typeof torch === 'string') {
        row('LoRA training tok/s (peak RSS)', `${ours.tokensPerSecond.toFixed(1)} (${ours.maxRssMiB.toFixed(0)} MiB)`, '—', '');
        console.log(`  (PyTorch: ${torch})`);
      } else {
        row('LoRA training tok/s', ours.tokensPerSecond.toFixed(1), `PyTorch ${torch.tokensPerSecond.toFixed(1)}`, `${(ours.tokensPerSecond / torch.tokensPerSecond).toFixed(2)}×`);
        row('LoRA training peak RSS, MiB', ours.maxRssMiB.toFixed(0), `PyTorch ${torch.maxRssMiB.toFixed(0)}`, `${(ours.maxRssMiB / torch.maxRssMiB).toFixed(2)}×`);
      }
    }
  }
} finally {
  if (typeof llamaCpp !== 'string') await llamaCpp.llama.dispose();
  await rm(dir, { recursive: true, force: true });
}
