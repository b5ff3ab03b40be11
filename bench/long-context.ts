/**
 * Training throughput and activation memory at growing context lengths (decision 0027): one LoRA
 * training pass (`lossAndGradients`, rank 8 on all seven projections) of 2,048 tokens per step
 * as B sequences of S tokens, S = 128, 512, 2,048, on the shipped base model's shape
 * (4 layers × 128, 4 heads of 32, 2 kv heads; weights random) with one thread. Each S runs in its
 * own process, and S = 2,048 once more with a sliding window of 256; the activation figure is the peak of the floats the CPU backend held during the
 * steps minus what it held before (weights, adapter), counted by `countFloats`.
 *
 * Run: `npm run bench -- long-context` (options: --steps=3 --runs=3)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../src/model/config.ts';
import { createCpuBackend } from '../src/model/cpu/cpu-backend.ts';
import { countFloats } from '../src/model/cpu/float-accounting.ts';
import { matmul } from '../src/model/cpu/matmul.ts';
import { Llama } from '../src/model/llama.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const TOKENS = 2048;
const baseConfig: ModelConfig = {
  vocabSize: 1024, hiddenSize: 128, intermediateSize: 352, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 32,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: TOKENS, tieEmbeddings: true, attentionBias: false,
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const MiB = (floats: number) => (floats * 4) / 2 ** 20;

interface Result { tokensPerSecond: number; runs: number[]; activationMiB: number; maxRssMiB: number }

async function runLength(S: number, window: number, steps: number, runs: number): Promise<Result> {
  const B = TOKENS / S;
  const config = { ...baseConfig, slidingWindow: window };
  const floats = countFloats();
  const backend = createCpuBackend({ name: 'cpu (1 thread)', matmul, allocate: floats.allocate, release: floats.release });
  const model = Llama.random(backend, config, 1);
  const lora = model.createLora({ r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], baseModel: 'bench' }, 2);
  const held = floats.live;
  floats.resetPeak();
  const rand = generator(3);
  const batch = () => {
    const ids = Int32Array.from({ length: B * S }, () => Math.floor(rand() * config.vocabSize));
    return { ids, targets: Int32Array.from(ids, (_, i) => ids[(i + 1) % ids.length]!) };
  };
  const warm = batch();
  await model.lossAndGradients(warm.ids, warm.targets, B, S, { lora });
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const data = Array.from({ length: steps }, batch);
    const t0 = performance.now();
    for (const b of data) await model.lossAndGradients(b.ids, b.targets, B, S, { lora });
    rates.push((steps * TOKENS) / ((performance.now() - t0) / 1000));
  }
  const activationMiB = MiB(floats.peak - held);
  await backend.dispose();
  return { tokensPerSecond: median(rates), runs: rates, activationMiB, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
}

const child = arg('length', '');
if (child) {
  process.stdout.write(JSON.stringify(await runLength(Number(child), Number(arg('window', '0')), Number(arg('steps', '3')), Number(arg('runs', '3')))));
} else {
  const steps = arg('steps', '3'), runs = arg('runs', '3');
  const { numLayers: L, numHeads: nH } = baseConfig;
  console.log(`Long-context LoRA training, ${L} layers × ${baseConfig.hiddenSize}, ${nH} heads of ${baseConfig.headDim}, rank 8; ${TOKENS} tokens per step (B × S), 1 thread; median of ${runs} runs of ${steps} steps`);
  console.log('     S    B  window   tokens/s   activations   S×S probabilities (all layers)   peak RSS');
  for (const [S, window] of [[128, 0], [512, 0], [2048, 0], [2048, 256]] as const) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--length=${S}`, `--window=${window}`, `--steps=${steps}`, `--runs=${runs}`], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`S = ${S} failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as Result;
    const B = TOKENS / S, probs = MiB(L * B * nH * S * S);
    console.log(`  ${String(S).padStart(4)} ${String(B).padStart(4)} ${String(window || '—').padStart(7)} ${res.tokensPerSecond.toFixed(0).padStart(10)} ${res.activationMiB.toFixed(1).padStart(9)} MiB ${probs.toFixed(1).padStart(14)} MiB ${''.padStart(17)}${res.maxRssMiB.toFixed(0).padStart(5)} MiB`);
  }
}
