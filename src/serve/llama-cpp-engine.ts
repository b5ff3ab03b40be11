import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { exportAdapterGguf, exportBaseGguf, type GgufExportDtype } from '../model/export-gguf.ts';
import type { ModelConfig } from '../model/config.ts';
import { defaultThreadCount } from '../model/cpu/matmul-pool.ts';
import type { FinishReason } from '../model/generate.ts';
import { isGgufModel, readModelDir } from '../model/model-dir.ts';
import { parsePeftAdapter } from '../model/peft.ts';
import { promptTokens } from '../model/prompt-tokens.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { CodedError } from '../util/coded-error.ts';
import { createKeyedLock } from '../util/lock.ts';
import { ContextLengthError, type Completion, type CompletionRequest, type Engine, type ServedModel } from './engine.ts';
import { LruResources } from './lru-resources.ts';
import { TextStream } from './text-stream.ts';

type NodeLlamaCpp = typeof import('node-llama-cpp');
type Llama = Awaited<ReturnType<NodeLlamaCpp['getLlama']>>;
type LlamaModel = Awaited<ReturnType<Llama['loadModel']>>;
type LlamaContext = Awaited<ReturnType<LlamaModel['createContext']>>;
type LlamaContextSequence = ReturnType<LlamaContext['getSequence']>;
type Token = import('node-llama-cpp').Token;

/** node-llama-cpp or its prebuilt binary is missing, or llama.cpp refused a model. */
export class LlamaCppEngineError extends CodedError {
  override name = 'LlamaCppEngineError';
}

export interface LlamaCppEngineOptions {
  /** Where base models and adapters are written as GGUF (once per content hash). */
  cacheDir: string;
  /** `false` (CPU, the default), `'cuda'`, `'vulkan'` or `'auto'`. */
  gpu?: false | 'cuda' | 'vulkan' | 'auto';
  /** CPU threads per evaluation (default: `OPENLEDGER_THREADS` or every core). */
  threads?: number;
  /** Storage of the base model's matrices in its GGUF (default F16). */
  dtype?: GgufExportDtype;
  /** Contexts kept per base model, one per adapter (default 8); the least recently used idle one goes first. */
  maxContexts?: number;
  /** Parallel sequences in each context, i.e. requests for one adapter batched together (default 4). */
  sequencesPerContext?: number;
}

interface ContextEntry {
  context: LlamaContext;
  free: LlamaContextSequence[];
  waiters: Array<(s: LlamaContextSequence) => void>;
}

interface BaseEntry {
  model: LlamaModel;
  tokenizer: Tokenizer;
  config: ModelConfig;
  /** One context per adapter key ('' for the base alone). */
  contexts: LruResources<ContextEntry>;
}

const exists = (path: string) => stat(path).then(() => true, () => false);

/** Tokens of context each sequence gets (llama.cpp's context is split between the sequences). */
const contextPerSequence = (config: ModelConfig) => Math.min(config.maxPositions, 8192);

/**
 * llama.cpp (through node-llama-cpp's prebuilt CPU, CUDA or Vulkan binaries) as an engine. Base
 * models and adapters are exported to GGUF once (`cacheDir`); llama.cpp attaches LoRA adapters
 * per context, so each adapter gets its own context (a bounded LRU of them) whose sequences batch
 * that adapter's requests. Prompts go in as our tokenizer's ids and the output is decoded by it,
 * so text, token counts and stop strings match the built-in engine.
 *
 * @example
 * const engine = createLlamaCppEngine({ cacheDir: join(dataDir, 'llama.cpp'), threads: 2 });
 * const { text } = await engine.complete(served, { prompt, maxTokens: 32, temperature: 0, topP: 1, seed: 0, stop: [] });
 */
export function createLlamaCppEngine(o: LlamaCppEngineOptions): Engine {
  let llama: Promise<{ lib: NodeLlamaCpp; llama: Llama }> | undefined;
  const bases = new Map<string, Promise<BaseEntry>>();
  const exporting = createKeyedLock<string>();

  const runtime = () => {
    llama ??= (async () => {
      try {
        const lib = await import('node-llama-cpp');
        return { lib, llama: await lib.getLlama({ gpu: o.gpu ?? false, build: 'never', logLevel: lib.LlamaLogLevel.error, progressLogs: false }) };
      } catch (e) {
        llama = undefined;
        throw new LlamaCppEngineError('llama_cpp_unavailable', `llama.cpp could not be loaded (${(e as Error).message.split('\n')[0]}); is node-llama-cpp's prebuilt binary for ${process.platform}-${process.arch} installed?`);
      }
    })();
    return llama;
  };

  /** Writes `path` with `write(tmp)` unless it exists (a crash leaves no half-written file under the name). */
  const once = (path: string, write: (tmp: string) => Promise<void>) => exporting(path, async () => {
    if (await exists(path)) return;
    const tmp = `${path}.${process.pid}.tmp`;
    await write(tmp);
    await rename(tmp, path);
  });

  const base = (b: ServedModel['base']) => {
    let e = bases.get(b.id);
    if (!e) {
      e = (async () => {
        const { llama } = await runtime();
        const files = await readModelDir(b.dir);
        const dir = join(o.cacheDir, b.id);
        await mkdir(join(dir, 'adapters'), { recursive: true });
        // a GGUF base is llama.cpp's own file; a folder is exported once
        const modelPath = isGgufModel(b.dir) ? b.dir : join(dir, `model-${o.dtype ?? 'F16'}.gguf`);
        if (!isGgufModel(b.dir)) {
          await once(modelPath, async (tmp) => exportBaseGguf({
            config: files.config, tensors: files.tensors, tokenizerJson: files.tokenizer.toJson(), dtype: o.dtype ?? 'F16', path: tmp,
          }));
        }
        const model = await llama.loadModel({ modelPath, gpuLayers: o.gpu ? 'max' : 0 });
        const entry = { model, tokenizer: files.tokenizer, config: files.config };
        // contexts are made for a key when its first request (which set `pending`) arrives
        const contexts = new LruResources<ContextEntry>({ max: o.maxContexts ?? 8, create: (key) => createContext(pending.get(key)!, entry), dispose: (c) => c.context.dispose() });
        return { ...entry, contexts };
      })();
      e.catch(() => bases.delete(b.id));
      bases.set(b.id, e);
    }
    return e;
  };

  /** The model a context key is being made for. */
  const pending = new Map<string, ServedModel>();

  const adapterPath = async (m: ServedModel, b: Pick<BaseEntry, 'config'>): Promise<string | null> => {
    if (!m.adapter) return null;
    const path = join(o.cacheDir, m.base.id, 'adapters', `${m.adapter.key.replace(/[^\w-]/g, '_')}.gguf`);
    const adapter = m.adapter;
    await once(path, async (tmp) => exportAdapterGguf({ config: b.config, adapter: parsePeftAdapter(await adapter.files(), { config: b.config }), path: tmp }));
    return path;
  };

  /** A context whose LoRA is `model`'s adapter: `sequences` parallel sequences over one KV cache. */
  const createContext = async (m: ServedModel, b: Omit<BaseEntry, 'contexts'>): Promise<ContextEntry> => {
    const sequences = o.sequencesPerContext ?? 4;
    const lora = await adapterPath(m, b);
    const context = await b.model.createContext({
      sequences, contextSize: contextPerSequence(b.config) * sequences, threads: o.threads ?? defaultThreadCount(), flashAttention: false,
      ...(lora ? { lora: { adapters: [{ filePath: lora, scale: 1 }] } } : {}),
    });
    return { context, free: Array.from({ length: sequences }, () => context.getSequence()), waiters: [] };
  };

  return {
    kind: 'llama.cpp',

    prefetch(m) {
      // exports the adapter to GGUF ahead of its request
      base(m.base).then((b) => adapterPath(m, b)).catch(() => {});
    },

    async complete(m: ServedModel, r: CompletionRequest): Promise<Completion> {
      const { lib } = await runtime();
      const b = await base(m.base);
      const key = m.adapter?.key ?? '';
      pending.set(key, m);
      return b.contexts.use(key, async (c) => {
        const prompt = promptTokens(b.tokenizer, r.prompt);
        if (prompt.length > contextPerSequence(b.config)) throw new ContextLengthError(prompt.length, contextPerSequence(b.config));
        const sequence = c.free.pop() ?? await new Promise<LlamaContextSequence>((resolve) => c.waiters.push(resolve));
        const tokens: number[] = [];
        const stopper = new AbortController();
        const signal = r.signal ? AbortSignal.any([r.signal, stopper.signal]) : stopper.signal;
        const stream = new TextStream(r.stop, r.onText);
        const completion = new lib.LlamaCompletion({ contextSequence: sequence });
        const done = (finishReason: FinishReason) => ({ text: stream.end(), finishReason, promptTokens: prompt.length, completionTokens: tokens.length });
        try {
          if (r.signal?.aborted) return done('cancelled');
          const { metadata } = await completion.generateCompletionWithMeta(prompt as Token[], {
            maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, topK: 0, minP: 0, seed: r.seed, repeatPenalty: false,
            signal, stopOnAbortSignal: true,
            onToken: (chunk) => {
              tokens.push(...chunk);
              if (stream.update(b.tokenizer.decode(tokens, { skipSpecialTokens: true }))) stopper.abort();
            },
          });
          return done(stream.stopped || metadata.stopReason === 'eogToken' ? 'stop' : metadata.stopReason === 'maxTokens' ? 'length' : 'cancelled');
        } catch (err) {
          if (r.signal?.aborted) return done('cancelled');
          throw err;
        } finally {
          completion.dispose();
          const next = c.waiters.shift();
          if (next) next(sequence);
          else c.free.push(sequence);
        }
      });
    },

    async close() {
      for (const e of bases.values()) {
        const b = await e.catch(() => null);
        if (!b) continue;
        await b.contexts.clear();
        await b.model.dispose();
      }
      bases.clear();
      if (llama) await (await llama.catch(() => null))?.llama.dispose();
      llama = undefined;
    },
  };
}
