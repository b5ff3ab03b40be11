/**
 * The engines behind one interface, on the same traffic: the built-in engine (continuous batching
 * across adapters) and llama.cpp through node-llama-cpp (one context per adapter, since llama.cpp
 * attaches LoRA per context), on the shipped base model with random rank-8 adapters on all seven
 * projections. 32 concurrent requests (a short prompt, 32 new tokens, greedy, no stop) drawn from
 * 1 and 8 distinct adapters; generated tokens/s, each as a ratio to the built-in engine with one
 * adapter in the same run (medians of three runs).
 *
 * Run: `npm run bench -- serve-engines` (options: --requests=32 --threads=1 (llama.cpp) --gpu=cuda for llama.cpp's CUDA build)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import { createBackend } from '../src/model/create-backend.ts';
import { Llama } from '../src/model/llama.ts';
import { readModelDir } from '../src/model/model-dir.ts';
import { peftAdapterFiles } from '../src/model/peft.ts';
import { createBuiltinEngine } from '../src/serve/builtin-engine.ts';
import type { Engine, ServedModel } from '../src/serve/engine.ts';
import { createLlamaCppEngine } from '../src/serve/llama-cpp-engine.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const REQUESTS = Number(arg('requests', '32')), NEW = 32;
const gpu = arg('gpu', 'false');

const dir = await mkdtemp(join(tmpdir(), 'openledger-bench-engines-'));
const files = await readModelDir(SHIPPED_BASE_MODEL.path);
const backend = createBackend();
const model = Llama.fromTensors(backend, files.config, files.tensors);
const rand = generator(3);
const base = { id: 'shipped', dir: SHIPPED_BASE_MODEL.path };
const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
const served: ServedModel[] = Array.from({ length: 8 }, (_, i) => {
  const a = model.createLora({ r: 8, alpha: 16, targetModules: [...targets], baseModel: 'bench' }, i + 1);
  for (const p of model.loraParameters(a)) backend.write(p.value, Float32Array.from({ length: p.value.length }, () => (rand() - 0.5) * 0.02));
  const peft = model.readLora(a).then(peftAdapterFiles);
  return { name: `adapter-${i}`, base, adapter: { key: `adapter-${i}`, files: () => peft } };
});
const words = ['the', 'river', 'old', 'mill', 'stone', 'bridge', 'north', 'market', 'quiet', 'harbour'];
const prompts = Array.from({ length: REQUESTS }, () => Array.from({ length: 8 }, () => words[Math.floor(rand() * words.length)]).join(' '));

const run = async (engine: Engine, pool: number) => {
  // warm: every adapter loaded (and, for llama.cpp, exported and its context made)
  await Promise.all(served.slice(0, pool).map((m) => engine.complete(m, { prompt: 'the', maxTokens: 1, temperature: 0, topP: 1, seed: 0, stop: [] })));
  const t0 = performance.now();
  const done = await Promise.all(prompts.map((prompt, i) => engine.complete(served[i % pool]!, { prompt, maxTokens: NEW, temperature: 0, topP: 1, seed: 0, stop: [] })));
  return done.reduce((n, c) => n + c.completionTokens, 0) / ((performance.now() - t0) / 1000);
};

console.log(`engines on ${SHIPPED_BASE_MODEL.name}: ${REQUESTS} concurrent requests × ${NEW} new tokens, rank-8 adapters on all seven projections`);
const builtin = createBuiltinEngine({ loadBase: async () => ({ model, tokenizer: files.tokenizer }) });
const threads = Number(arg('threads', '1')); // llama.cpp on 2 shared cores: 1 thread is fastest (ENGINES.md)
const llamaCpp = createLlamaCppEngine({ cacheDir: dir, dtype: 'F32', maxContexts: 8, sequencesPerContext: 8, threads, ...(gpu !== 'false' ? { gpu: gpu as 'cuda' } : {}) });
let single = 0;
await run(builtin, 1); // warm-up (kernels, allocations)
for (const [name, engine] of [['built-in', builtin], [`llama.cpp (${gpu === 'false' ? 'CPU' : gpu})`, llamaCpp]] as const) {
  for (const pool of [1, 8]) {
    const rate = median([await run(engine, pool), await run(engine, pool), await run(engine, pool)]);
    if (single === 0) single = rate;
    console.log(`  ${name.padEnd(18)} ${String(pool).padStart(2)} adapter${pool > 1 ? 's' : ' '} ${rate.toFixed(0).padStart(7)} tokens/s  ${(rate / single).toFixed(2)}× built-in single-adapter`);
  }
}
await llamaCpp.close();
await backend.dispose();
await rm(dir, { recursive: true, force: true });
