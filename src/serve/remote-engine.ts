import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { FinishReason } from '../model/generate.ts';
import { readModelDir } from '../model/model-dir.ts';
import { promptTokens } from '../model/prompt-tokens.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { CodedError } from '../util/coded-error.ts';
import { createKeyedLock } from '../util/lock.ts';
import type { Completion, CompletionRequest, Engine, ServedModel } from './engine.ts';
import { LruResources } from './lru-resources.ts';
import { TextStream } from './text-stream.ts';

/** The remote server refused or failed a request. */
export class RemoteEngineError extends CodedError {
  override name = 'RemoteEngineError';
}

export interface RemoteEngineOptions {
  /** The server's OpenAI-compatible base URL, e.g. `http://gpu-box:8000/v1`. */
  url: string;
  apiKey?: string;
  /** The name the server serves the base model under (vLLM's `--served-model-name`, or its path). */
  baseModel: string;
  /** A folder this node writes adapters into (PEFT folders, one per adapter) … */
  adapterDir: string;
  /** … and the same folder as the server sees it (default: the same path, e.g. a shared volume). */
  remoteAdapterDir?: string;
  /** Adapters kept registered on the server; the least recently used is unloaded beyond it (default 256). */
  maxLoaded?: number;
}

const adapterName = (key: string) => `olora-${key.replace(/[^\w-]/g, '_').slice(0, 90)}`;

/**
 * A remote OpenAI-compatible server with LoRA support as an engine: vLLM started with
 * `--enable-lora` and `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`. An adapter is written as a PEFT
 * folder into a directory the server can read and registered with `POST /v1/load_lora_adapter` on
 * first use (again if the server restarted and forgot it); requests then name it as their model and
 * the server batches every adapter together (Punica/S-LoRA kernels). Prompts are sent as token ids
 * from our tokenizer, so the model sees exactly what the built-in engine would.
 *
 * @example
 * const engine = createRemoteEngine({ url: 'http://gpu-box:8000/v1', baseModel: 'openledger-tiny', adapterDir: '/shared/adapters' });
 */
export function createRemoteEngine(o: RemoteEngineOptions): Engine {
  const client = new OpenAI({ baseURL: o.url, apiKey: o.apiKey ?? 'none', maxRetries: 1 });
  const tokenizers = new Map<string, Promise<Tokenizer>>();
  const writing = createKeyedLock<string>();

  const tokenizer = (base: ServedModel['base']) => {
    let t = tokenizers.get(base.id);
    if (!t) {
      t = readModelDir(base.dir).then((f) => f.tokenizer);
      t.catch(() => tokenizers.delete(base.id));
      tokenizers.set(base.id, t);
    }
    return t;
  };

  const engineError = (what: string, err: unknown): RemoteEngineError =>
    err instanceof OpenAI.APIError && err.status !== undefined
      // the engine's URL is the operator's infrastructure: not told to callers
      ? new RemoteEngineError(err.status === 429 ? 'remote_engine_busy' : 'remote_engine_error', `the remote engine refused ${what}: ${err.status} ${err.message}`)
      : new RemoteEngineError('remote_engine_unreachable', `the remote engine failed ${what}: ${(err as Error).message.replaceAll(o.url, '<engine>')}`);

  /** The adapter a registration is being made for, by name. */
  const pending = new Map<string, NonNullable<ServedModel['adapter']>>();
  const register = async (name: string): Promise<void> => {
    const adapter = pending.get(name)!;
    const dir = join(o.adapterDir, name);
    await writing(name, async () => {
      const files = await adapter.files();
      const tmp = `${dir}.${process.pid}.tmp`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      for (const [file, bytes] of Object.entries(files)) await writeFile(join(tmp, file), bytes);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    });
    try {
      await client.post('/load_lora_adapter', { body: { lora_name: name, lora_path: join(o.remoteAdapterDir ?? o.adapterDir, name) } });
    } catch (err) {
      // vLLM answers 400 "already been loaded" after our own restart; that is success
      if (!(err instanceof OpenAI.APIError && err.status === 400 && /already/i.test(err.message))) throw engineError(`loading adapter ${name}`, err);
    }
  };
  /** Adapters registered on the server; the least recently used idle one is unloaded beyond the bound. */
  const registered = new LruResources<void>({
    max: o.maxLoaded ?? 256,
    create: register,
    dispose: async (_, name) => {
      await client.post('/unload_lora_adapter', { body: { lora_name: name } }).catch(() => {});
      await rm(join(o.adapterDir, name), { recursive: true, force: true });
    },
  });
  /** Runs `fn` with the model's adapter registered on the server (kept registered meanwhile). */
  const withAdapter = <T>(m: ServedModel, fn: () => Promise<T>): Promise<T> => {
    if (!m.adapter) return fn();
    const name = adapterName(m.adapter.key);
    pending.set(name, m.adapter);
    return registered.use(name, fn);
  };

  const stream = async (model: string, prompt: number[], r: CompletionRequest, text: TextStream, signal: AbortSignal) => {
    const s = await client.completions.create({
      model, prompt, max_tokens: r.maxTokens, temperature: r.temperature, top_p: r.topP, seed: r.seed,
      ...(r.stop.length > 0 ? { stop: [...r.stop] } : {}), stream: true, stream_options: { include_usage: true },
    }, { signal });
    let full = '', finish: string | null = null, completionTokens = 0;
    for await (const chunk of s) {
      const choice = chunk.choices[0];
      if (choice) {
        full += choice.text;
        if (text.update(full)) break;
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    }
    return { finish, completionTokens };
  };

  return {
    kind: 'remote',

    prefetch(m) {
      withAdapter(m, async () => {}).catch(() => {});
    },

    async complete(m: ServedModel, r: CompletionRequest): Promise<Completion> {
      const tok = await tokenizer(m.base);
      const prompt = promptTokens(tok, r.prompt);
      const model = m.adapter ? adapterName(m.adapter.key) : o.baseModel;
      const stopper = new AbortController();
      const signal = r.signal ? AbortSignal.any([r.signal, stopper.signal]) : stopper.signal;
      for (let attempt = 0; ; attempt++) {
        const text = new TextStream(r.stop, r.onText);
        try {
          const { finish, completionTokens } = await withAdapter(m, () => stream(model, prompt, r, text, signal));
          const finishReason: FinishReason = text.stopped || finish === 'stop' ? 'stop' : finish === 'length' ? 'length' : signal.aborted ? 'cancelled' : 'stop';
          const output = text.end();
          // usage is missing when we stopped reading at a stop string
          return { text: output, finishReason, promptTokens: prompt.length, completionTokens: completionTokens || tok.encode(output, { addSpecialTokens: false }).length };
        } catch (err) {
          if (r.signal?.aborted) return { text: text.end(), finishReason: 'cancelled', promptTokens: prompt.length, completionTokens: 0 };
          // the server restarted and forgot the adapter: register it again, once
          if (m.adapter && attempt === 0 && err instanceof OpenAI.NotFoundError) {
            registered.forget(model);
            continue;
          }
          throw engineError(`a completion from ${model}`, err);
        }
      }
    },

    async close() {
      await registered.clear();
    },
  };
}
