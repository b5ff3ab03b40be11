/**
 * Every engine behind the one interface gives the same answers: the built-in engine, llama.cpp
 * (node-llama-cpp's CPU prebuilt, F32 GGUF exports) and the remote engine over HTTP against a
 * vLLM-compatible server. Greedy text for the base and three adapters, concurrent requests for
 * different adapters, stop strings, length limits, streaming and cancellation.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Backend } from '../model/backend.ts';
import { createBackend } from '../model/create-backend.ts';
import { tinyRandomAdapter } from '../model/export-fixtures.test-util.ts';
import { Llama } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import { peftAdapterFiles } from '../model/peft.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { createBuiltinEngine } from './builtin-engine.ts';
import type { CompletionRequest, Engine, ServedModel } from './engine.ts';
import { createLlamaCppEngine } from './llama-cpp-engine.ts';
import { createRemoteEngine } from './remote-engine.ts';
import { startVllmCompatibleServer } from './vllm-compatible-server.test-util.ts';

let dir: string;
let backend: Backend;
let tokenizer: Tokenizer;
let base: ServedModel['base'];
let models: ServedModel[];
let builtin: Engine;
let server: Awaited<ReturnType<typeof startVllmCompatibleServer>>;
const engines: Record<string, Engine> = {};
const expected = new Map<string, string>();
const PROMPT = 'The river runs past the old mill and';
const greedy = (over: Partial<CompletionRequest> = {}): CompletionRequest => ({ prompt: PROMPT, maxTokens: 16, temperature: 0, topP: 1, seed: 0, stop: [], ...over });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openledger-engines-'));
  // the shipped base model: trained, so greedy choices are clear (no near-ties between engines)
  base = { id: '0xba5e', dir: join(import.meta.dirname, '../../models/openledger-tiny') };
  backend = createBackend({ threads: 1 });
  const files = await readModelDir(base.dir);
  tokenizer = files.tokenizer;
  const model = Llama.fromTensors(backend, files.config, files.tensors);
  models = [
    { name: 'base', base, adapter: null },
    ...[1, 2, 3].map((seed) => {
      const peft = peftAdapterFiles(tinyRandomAdapter(files.config, { r: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'], seed }));
      return { name: `adapter-${seed}`, base, adapter: { key: `adapter-${seed}`, files: async () => peft } };
    }),
  ];
  builtin = createBuiltinEngine({ loadBase: async () => ({ model, tokenizer }) });
  for (const m of models) expected.set(m.name, (await builtin.complete(m, greedy())).text);
  server = await startVllmCompatibleServer({ engine: builtin, baseName: 'tiny', base, tokenizer });
  engines.builtin = builtin;
  engines['llama.cpp'] = createLlamaCppEngine({ cacheDir: join(dir, 'llama.cpp'), dtype: 'F32', threads: 1, maxContexts: 2 });
  engines.remote = createRemoteEngine({ url: server.url, baseModel: 'tiny', adapterDir: join(dir, 'remote-adapters'), maxLoaded: 2 });
});

after(async () => {
  for (const e of Object.values(engines)) await e.close();
  await server?.close();
  await backend?.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('the adapters change the answer (the comparisons below are not vacuous)', () => {
  assert.equal(new Set(expected.values()).size, models.length, [...expected.values()].join(' | '));
  for (const text of expected.values()) assert.ok(text.length > 0);
});

for (const kind of ['builtin', 'llama.cpp', 'remote']) {
  describe(`the ${kind} engine`, () => {
    const engine = () => engines[kind]!;

    test('gives the built-in engine’s greedy text for the base and every adapter, and streams it', async () => {
      for (const m of models) {
        const pieces: string[] = [];
        const c = await engine().complete(m, greedy({ onText: (d) => pieces.push(d) }));
        assert.equal(c.text, expected.get(m.name), `${m.name} on ${kind}`);
        assert.equal(pieces.join(''), c.text);
        assert.equal(c.promptTokens, tokenizer.encode(PROMPT, { addSpecialTokens: false }).length + (tokenizer.bosId !== undefined ? 1 : 0));
        if (c.finishReason === 'length') assert.equal(c.completionTokens, 16);
      }
    });

    test('serves different adapters at once, each as if alone (more adapters than its context/registration bound)', async () => {
      const results = await Promise.all([...models, ...models].map((m) => engine().complete(m, greedy())));
      results.forEach((c, i) => assert.equal(c.text, expected.get(models[i % models.length]!.name)));
    });

    test('ends at a stop string (not included) and at max_tokens', async () => {
      const m = models[1]!;
      const full = expected.get(m.name)!;
      const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 2);
      const c = await engine().complete(m, greedy({ stop: [stop] }));
      assert.equal(c.text, full.slice(0, full.indexOf(stop)));
      assert.equal(c.finishReason, 'stop');
      const short = await engine().complete(m, greedy({ maxTokens: 3 }));
      assert.equal(short.finishReason, 'length');
      assert.equal(short.completionTokens, 3);
      assert.ok(full.startsWith(short.text));
    });

    test('a cancelled request ends as cancelled', async () => {
      const controller = new AbortController();
      controller.abort();
      const c = await engine().complete(models[2]!, greedy({ maxTokens: 64, signal: controller.signal }));
      assert.equal(c.finishReason, 'cancelled');
    });
  });
}

test('the remote engine registers each adapter once, and again after the server forgot it (a restart)', async () => {
  const loadsOf = () => server.loads.filter((n) => n.endsWith('adapter-1')).length;
  await engines.remote!.complete(models[1]!, greedy());
  const once = loadsOf();
  await engines.remote!.complete(models[1]!, greedy());
  assert.equal(loadsOf(), once, 'no second registration while it is registered');
  server.forget();
  const c = await engines.remote!.complete(models[1]!, greedy());
  assert.equal(c.text, expected.get('adapter-1'));
  assert.equal(loadsOf(), once + 1);
});

test('the remote engine answers 502 when the server is gone, without naming the server (the operator\'s infrastructure)', async () => {
  const gone = createRemoteEngine({ url: 'http://127.0.0.1:9/v1', baseModel: 'tiny', adapterDir: join(dir, 'gone') });
  await assert.rejects(gone.complete(models[0]!, greedy()), (err: Error & { code?: string }) => err.code === 'remote_engine_unreachable' && /the remote engine failed/.test(err.message) && !/127\.0\.0\.1:9/.test(err.message));
});
