/**
 * Multi-adapter serving on the built-in engine (continuous batching, paged KV cache, per-row
 * LoRA), on the shipped base model (models/openledger-tiny) with random rank-8 adapters on
 * q, k, v, o, gate, up and down:
 * - decode throughput (generated tokens/s) of 64 concurrent requests (16-token prompts, 32 new
 *   tokens each) drawing their adapter from a pool of 1, 10, 100 and 1,000 distinct adapters, each
 *   as a ratio to the single-adapter figure of the same run; and, as a baseline, the same requests
 *   one at a time without batching or KV cache (the full forward pass `Llama.logits` over the whole
 *   sequence for each token, greedy);
 * - adapter cold-load latency: PEFT bytes → parsed → on the engine (median of 20);
 * - time to first token, p50/p99, under a fixed offered load (Poisson arrivals, 100 adapters).
 *
 * Run: `npm run bench -- serve-adapters` (options: --requests=64 --rate=20 --seconds=5)
 */
import { createBackend } from '../src/model/create-backend.ts';
import { Llama, type LoraAdapter } from '../src/model/llama.ts';
import { readModelDir } from '../src/model/model-dir.ts';
import { parsePeftAdapter, peftAdapterFiles } from '../src/model/peft.ts';
import { SHIPPED_BASE_MODEL } from '../src/factory/shipped-base-model.ts';
import { Decoder } from '../src/model/decoder.ts';
import { PagedKvCache } from '../src/model/kv-cache.ts';
import { Scheduler } from '../src/serve/scheduler.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const REQUESTS = Number(arg('requests', '64')), PROMPT = 16, NEW = 32;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const files = await readModelDir(SHIPPED_BASE_MODEL.path);
const backend = createBackend();
const model = Llama.fromTensors(backend, files.config, files.tensors);
const rand = generator(1);
const targets = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
const adapterWeights = (seed: number) => {
  const a = model.createLora({ r: 8, alpha: 16, targetModules: [...targets], baseModel: 'bench' }, seed);
  for (const p of model.loraParameters(a)) backend.write(p.value, Float32Array.from({ length: p.value.length }, () => (rand() - 0.5) * 0.02));
  return a;
};
const adapters: LoraAdapter[] = Array.from({ length: 1000 }, (_, i) => adapterWeights(i + 1));
const prompts = Array.from({ length: REQUESTS }, () => Array.from({ length: PROMPT }, () => 1 + Math.floor(rand() * (files.config.vocabSize - 1))));
const scheduler = () => new Scheduler(new Decoder(model, new PagedKvCache(backend, files.config, { numBlocks: 1024, blockSize: 16 })), { maxSequences: 64, maxBatchTokens: 512 });

console.log(`serving ${SHIPPED_BASE_MODEL.name} (${files.config.numLayers} layers × ${files.config.hiddenSize}), rank-8 adapters on all seven projections; ${REQUESTS} concurrent requests × (${PROMPT} prompt + ${NEW} new tokens)`);
const throughput = async (pool: number) => {
  const s = scheduler();
  const t0 = performance.now();
  const done = await Promise.all(prompts.map((prompt, i) => s.generate({ adapter: adapters[i % pool]!, prompt, maxTokens: NEW })));
  return done.reduce((n, r) => n + r.tokens.length, 0) / ((performance.now() - t0) / 1000);
};
await throughput(1); // warm-up
const single = median([await throughput(1), await throughput(1), await throughput(1)]);
const t0 = performance.now();
let unbatched = 0;
const V = files.config.vocabSize;
for (const [i, prompt] of prompts.slice(0, 8).entries()) {
  const seq = [...prompt];
  for (let n = 0; n < NEW; n++, unbatched++) {
    const logits = (await model.logits(Int32Array.from(seq), 1, seq.length, adapters[i]!)).subarray((seq.length - 1) * V);
    seq.push(logits.indexOf(Math.max(...logits)));
  }
}
const unbatchedRate = unbatched / ((performance.now() - t0) / 1000);
console.log(`  baseline: one request at a time, no KV cache (8 requests)  ${unbatchedRate.toFixed(0).padStart(7)} tokens/s`);
for (const pool of [1, 10, 100, 1000]) {
  const rate = pool === 1 ? single : median([await throughput(pool), await throughput(pool), await throughput(pool)]);
  console.log(`  ${String(pool).padStart(5)} distinct adapters in the mix                      ${rate.toFixed(0).padStart(7)} tokens/s  ${(rate / single).toFixed(2)}× single-adapter  ${(rate / unbatchedRate).toFixed(1)}× the baseline`);
}

const peft = peftAdapterFiles(await model.readLora(adapters[0]!));
const loads: number[] = [];
for (let i = 0; i < 20; i++) {
  const t = performance.now();
  const a = model.loadLora(parsePeftAdapter(peft, { config: files.config }), 'serving');
  loads.push(performance.now() - t);
  model.freeLora(a);
}
console.log(`  adapter cold load (${(peft['adapter_model.safetensors'].length / 1024).toFixed(0)} KiB PEFT → engine): median ${median(loads).toFixed(2)} ms`);

const rate = Number(arg('rate', '20')), seconds = Number(arg('seconds', '5'));
const s = scheduler();
const ttft: number[] = [];
const pending: Promise<unknown>[] = [];
const start = performance.now();
for (let t = 0, i = 0; t < seconds * 1000; i++) {
  t += (-Math.log(1 - rand()) / rate) * 1000;
  const wait = start + t - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const submitted = performance.now();
  let first = true;
  pending.push(s.generate({ adapter: adapters[i % 100]!, prompt: prompts[i % prompts.length]!, maxTokens: NEW, onToken: () => void (first && ((first = false), ttft.push(performance.now() - submitted))) }));
}
await Promise.all(pending);
console.log(`  time to first token at ${rate} requests/s over ${seconds} s (${ttft.length} requests, 100 adapters): p50 ${percentile(ttft, 50).toFixed(0)} ms, p99 ${percentile(ttft, 99).toFixed(0)} ms`);
await backend.dispose();
