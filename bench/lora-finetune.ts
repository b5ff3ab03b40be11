/**
 * LoRA fine-tuning throughput and peak memory of the model engine, on the shipped base model's
 * shape (models/openledger-tiny: 4 layers × 128, vocabulary 1,024, weights random here since speed
 * does not depend on them): rank 8 on all seven projections, AdamW, sequences of 128 tokens,
 * 8 per step. Variants, each in its own process so peak RSS is its own:
 * - `engine`: the engine as ModelFactory runs it (WebAssembly SIMD kernels, worker pool);
 * - `engine-1t`: the same on one thread;
 * - `naive`: the same model code on a plain triple-loop matmul (the baseline, same run);
 * - `full`: full-parameter training on the engine (what pre-training the base model costs).
 *
 * Run: `npm run bench -- lora` (options: --steps=6 --runs=3)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../src/model/config.ts';
import { createBackend } from '../src/model/create-backend.ts';
import { createCpuBackend } from '../src/model/cpu/cpu-backend.ts';
import { Llama } from '../src/model/llama.ts';
import { Trainer, type TrainingExample } from '../src/model/trainer.ts';
import { naiveMatmul } from '../src/model/cpu/naive-matmul.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SEQ = 128, BATCH = 8;
const config: ModelConfig = {
  vocabSize: 1024, hiddenSize: 128, intermediateSize: 352, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 32,
  rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 512, tieEmbeddings: true, attentionBias: false,
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function runVariant(variant: string, steps: number, runs: number): Promise<{ tokensPerSecond: number; runs: number[] }> {
  const backend = variant === 'naive' ? createCpuBackend({ matmul: naiveMatmul, name: 'naive' }) : createBackend(variant === 'engine-1t' ? { threads: 1 } : {});
  const model = Llama.random(backend, config, 1);
  const lora = variant === 'full' ? null : model.createLora({ r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], baseModel: 'bench' }, 2);
  const trainer = new Trainer(model, lora, { lr: 1e-3, totalSteps: 1000, warmupSteps: 0, minLrRatio: 1, weightDecay: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, maxGradNorm: 1 });
  const rand = generator(3);
  const batch = (): TrainingExample[] => Array.from({ length: BATCH }, () => {
    const seq = Int32Array.from({ length: SEQ + 1 }, () => Math.floor(rand() * config.vocabSize));
    return { ids: seq.subarray(0, SEQ), targets: seq.subarray(1) };
  });
  await trainer.step(batch()); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const data = Array.from({ length: steps }, batch);
    const t0 = performance.now();
    for (const b of data) await trainer.step(b);
    rates.push((steps * BATCH * SEQ) / ((performance.now() - t0) / 1000));
  }
  await backend.dispose();
  return { tokensPerSecond: median(rates), runs: rates };
}

const child = arg('variant', '');
if (child) {
  const result = await runVariant(child, Number(arg('steps', '6')), Number(arg('runs', '3')));
  process.stdout.write(JSON.stringify({ ...result, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
} else {
  const steps = Number(arg('steps', '6')), runs = Number(arg('runs', '3'));
  console.log(`LoRA fine-tuning, ${config.numLayers} layers × ${config.hiddenSize}, vocabulary ${config.vocabSize}, rank 8 on q,k,v,o,gate,up,down; ${BATCH} × ${SEQ} tokens per step; median of ${runs} runs of ${steps} steps`);
  const results: Record<string, { tokensPerSecond: number; maxRssMiB: number }> = {};
  for (const variant of ['naive', 'engine-1t', 'engine', 'full']) {
    const budget = variant === 'naive' ? ['--steps=1', '--runs=3'] : [`--steps=${steps}`, `--runs=${runs}`];
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--variant=${variant}`, ...budget], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`${variant} failed: ${r.stderr}`);
    results[variant] = JSON.parse(r.stdout);
  }
  const base = results.naive!.tokensPerSecond;
  const label: Record<string, string> = {
    naive: 'baseline: same model, naive triple-loop matmul',
    'engine-1t': 'engine, WebAssembly SIMD kernels, 1 thread',
    engine: 'engine as ModelFactory runs it (worker pool)',
    full: 'full-parameter training (pre-training), engine',
  };
  for (const [variant, r] of Object.entries(results)) {
    console.log(`  ${label[variant]!.padEnd(50)} ${r.tokensPerSecond.toFixed(0).padStart(7)} tokens/s  ${(r.tokensPerSecond / base).toFixed(2).padStart(6)}× baseline  peak RSS ${r.maxRssMiB.toFixed(0)} MiB`);
  }
}
