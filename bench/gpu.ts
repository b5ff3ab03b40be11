/**
 * The WebGPU backend where a GPU adapter exists, each figure beside the CPU backend measured in the
 * same run: matmul TFLOP/s (same shape on both), decode tokens/s of the shipped base model with 1,
 * 100 and 1,000 distinct rank-8 adapters in the mix (ratio to one adapter), and LoRA training
 * tokens/s. On a machine with only a software adapter (lavapipe) it says so and stops, unless
 * `--software` (the figures are then lavapipe's: correctness, not speed). Where `python3` has torch
 * with CUDA, transformers and peft, bench/gpu-pytorch.py measures PyTorch + PEFT on the same model,
 * batch and adapter mix, and the ratios are printed.
 *
 * Run: `npm run bench -- gpu` (options: --size=2048 --software --pytorch-adapters=1,100)
 */
import { spawnSync } from 'node:child_process';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import type { Backend } from '../src/model/backend.ts';
import { createBackend } from '../src/model/create-backend.ts';
import { Llama, type LoraAdapter } from '../src/model/llama.ts';
import { readModelDir } from '../src/model/model-dir.ts';
import { defaultOptimizerOptions, Trainer, type TrainingExample } from '../src/model/trainer.ts';
import { NoGpuError, requestGpuDevice } from '../src/model/webgpu/gpu-device.ts';
import { createWebGpuBackend } from '../src/model/webgpu/webgpu-backend.ts';
import { Decoder } from '../src/model/decoder.ts';
import { PagedKvCache } from '../src/model/kv-cache.ts';
import { Scheduler } from '../src/serve/scheduler.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

let gpuDevice;
try {
  gpuDevice = await requestGpuDevice();
} catch (e) {
  if (!(e instanceof NoGpuError)) throw e;
  console.log(`gpu: skipped — ${e.message}`);
  process.exit(0);
}
if (gpuDevice.software && !process.argv.includes('--software')) {
  console.log(`gpu: skipped — the only adapter is a software one (${gpuDevice.description}); --software runs it anyway`);
  gpuDevice.device.destroy();
  process.exit(0);
}
const gpu = createWebGpuBackend(gpuDevice.device, gpuDevice.description);
const cpu = createBackend();
console.log(`GPU: ${gpuDevice.description}; CPU: ${cpu.name}`);

// ── matmul ──
const N = Number(arg('size', gpuDevice.software ? '256' : '2048'));
const matmulRate = async (be: Backend, n: number, reps: number) => {
  const rand = generator(1);
  const a = be.upload(Float32Array.from({ length: n * n }, () => rand() - 0.5)), b = be.upload(Float32Array.from({ length: n * n }, () => rand() - 0.5)), c = be.zeros(n * n);
  be.matmul(c, a, b, n, n, n, 'nn');
  await be.read(c);
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) be.matmul(c, a, b, n, n, n, 'nn');
    await be.read(c);
    times.push((performance.now() - t0) / reps);
  }
  for (const t of [a, b, c]) be.free(t);
  return (2 * n ** 3) / (median(times) / 1000) / 1e12;
};
const cpuN = Math.min(N, 1024);
const gpuTflops = await matmulRate(gpu, N, 10), cpuTflops = await matmulRate(cpu, cpuN, 2);
console.log(`  matmul ${N}³ f32: GPU ${gpuTflops.toFixed(3)} TFLOP/s; CPU (${cpuN}³) ${cpuTflops.toFixed(3)} TFLOP/s; ${(gpuTflops / cpuTflops).toFixed(1)}×`);

// ── decode with many adapters ──
const files = await readModelDir(SHIPPED_BASE_MODEL.path);
const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
const decode = async (be: Backend, pools: number[], requests: number) => {
  const model = Llama.fromTensors(be, files.config, files.tensors);
  const rand = generator(2);
  const adapters: LoraAdapter[] = Array.from({ length: Math.max(...pools) }, (_, i) => {
    const a = model.createLora({ r: 8, alpha: 16, targetModules: [...targets], baseModel: 'bench' }, i + 1);
    for (const p of model.loraParameters(a)) be.write(p.value, Float32Array.from({ length: p.value.length }, () => (rand() - 0.5) * 0.02));
    return a;
  });
  const prompts = Array.from({ length: requests }, () => Array.from({ length: 16 }, () => 1 + Math.floor(rand() * (files.config.vocabSize - 1))));
  const rates = new Map<number, number>();
  for (const pool of pools) {
    const runs: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const s = new Scheduler(new Decoder(model, new PagedKvCache(be, files.config, { numBlocks: Math.ceil((requests * 48) / 16) + 16, blockSize: 16 })), { maxSequences: requests, maxBatchTokens: 1024 });
      const t0 = performance.now();
      const done = await Promise.all(prompts.map((prompt, i) => s.generate({ adapter: adapters[i % pool]!, prompt, maxTokens: 32 })));
      runs.push(done.reduce((n, r) => n + r.tokens.length, 0) / ((performance.now() - t0) / 1000));
    }
    rates.set(pool, median(runs));
  }
  return rates;
};
const requests = gpuDevice.software ? 8 : 1000; // on a GPU every one of 1,000 adapters is in flight at once
// medians of 3 runs each; a software adapter runs 8 requests with 8 adapters at most
const onGpu = await decode(gpu, gpuDevice.software ? [1, 8] : [1, 100, 1000], requests);
const onCpu = await decode(cpu, [1], Math.min(requests, 64));
for (const [pool, rate] of onGpu) console.log(`  decode, ${requests} concurrent requests, ${String(pool).padStart(4)} adapters: GPU ${rate.toFixed(0)} tokens/s (${(rate / onGpu.get(1)!).toFixed(2)}× one adapter)`);
console.log(`  decode on the CPU backend, 1 adapter, ${Math.min(requests, 64)} requests: ${onCpu.get(1)!.toFixed(0)} tokens/s`);

// ── LoRA training ──
const train = async (be: Backend, steps: number) => {
  const model = Llama.fromTensors(be, files.config, files.tensors);
  const lora = model.createLora({ r: 8, alpha: 16, targetModules: [...targets], baseModel: 'bench' }, 1);
  const rand = generator(3);
  const batch: TrainingExample[] = Array.from({ length: 8 }, () => {
    const seq = Int32Array.from({ length: 129 }, () => Math.floor(rand() * files.config.vocabSize));
    return { ids: seq.subarray(0, 128), targets: seq.subarray(1) };
  });
  const trainer = new Trainer(model, lora, { ...defaultOptimizerOptions, totalSteps: steps + 1 });
  await trainer.step(batch);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(batch);
  return (steps * 8 * 128) / ((performance.now() - t0) / 1000);
};
const gpuTrain = await train(gpu, gpuDevice.software ? 1 : 10), cpuTrain = await train(cpu, 2);
console.log(`  LoRA training (rank 8, 8 × 128 tokens per step): GPU ${gpuTrain.toFixed(0)} tokens/s; CPU ${cpuTrain.toFixed(0)} tokens/s; ${(gpuTrain / cpuTrain).toFixed(1)}×`);

// ── PyTorch + PEFT, where it is installed ──
const hasTorch = spawnSync('python3', ['-c', 'import torch, transformers, peft; assert torch.cuda.is_available()'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.log('  PyTorch + PEFT: not on this machine (needs python3 with torch on CUDA, transformers and peft)');
else {
  const counts = arg('pytorch-adapters', '1,100');
  const run = spawnSync('python3', [new URL('gpu-pytorch.py', import.meta.url).pathname, SHIPPED_BASE_MODEL.path, String(requests), counts], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (run.status !== 0) console.log(`  PyTorch + PEFT: bench/gpu-pytorch.py failed (exit ${run.status})`);
  else {
    const torch = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { device: string; train_tokens_per_s: number; decode_tokens_per_s: Record<string, number> };
    console.log(`  PyTorch + PEFT on ${torch.device}: LoRA training ${torch.train_tokens_per_s.toFixed(0)} tokens/s (ours ${(gpuTrain / torch.train_tokens_per_s).toFixed(2)}×)`);
    for (const [pool, rate] of Object.entries(torch.decode_tokens_per_s)) {
      const ours = onGpu.get(Number(pool));
      console.log(`  PyTorch + PEFT decode, ${requests} requests, ${pool.padStart(4)} adapters: ${rate.toFixed(0)} tokens/s${ours ? ` (ours ${(ours / rate).toFixed(2)}×)` : ''}`);
    }
  }
}
await gpu.dispose();
await cpu.dispose();
