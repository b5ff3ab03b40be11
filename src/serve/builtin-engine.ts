import type { Llama } from '../model/llama.ts';
import { parsePeftAdapter, type PeftAdapterFiles } from '../model/peft.ts';
import { promptTokens } from '../model/prompt-tokens.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { AdapterCache } from './adapter-cache.ts';
import { Decoder } from '../model/decoder.ts';
import type { Completion, CompletionRequest, Engine, ServedModel } from './engine.ts';
import { PagedKvCache } from '../model/kv-cache.ts';
import { Scheduler } from './scheduler.ts';
import { TextStream } from './text-stream.ts';

export interface BuiltinEngineOptions {
  /** The base model on the engine's backend, loaded once and shared (attribution uses it too). */
  loadBase(base: ServedModel['base']): Promise<{ model: Llama; tokenizer: Tokenizer }>;
  /** KV cache blocks of 16 tokens per base model (default 512). */
  kvBlocks?: number;
  /** Most sequences decoding at once per base model (default 64). */
  maxSequences?: number;
  /** Most rows in one step (default 512). */
  maxBatchTokens?: number;
  /** Adapter bytes on the engine per base model (default 256 MiB). */
  engineAdapterBytes?: number;
  /** Parsed adapter bytes in host memory per base model (default 1 GiB). */
  hostAdapterBytes?: number;
}

interface BaseState {
  model: Llama;
  tokenizer: Tokenizer;
  scheduler: Scheduler;
  adapters: AdapterCache;
}

/**
 * The built-in engine: per base model a paged KV cache, a continuous-batching scheduler and a
 * tiered adapter cache; requests for every adapter on a base share its batches.
 *
 * @example
 * const engine = createBuiltinEngine({ loadBase: (b) => models.base(b.id) });
 * const { text } = await engine.complete(served, { prompt, maxTokens: 32, temperature: 0, topP: 1, seed: 0, stop: [] });
 */
export function createBuiltinEngine(o: BuiltinEngineOptions): Engine & { baseState(base: ServedModel['base']): Promise<BaseState> } {
  const bases = new Map<string, Promise<BaseState>>();
  // where each adapter's files come from, by key (the adapter cache asks by key)
  const sources = new Map<string, () => Promise<PeftAdapterFiles>>();

  const baseState = (base: ServedModel['base']) => {
    let b = bases.get(base.id);
    if (!b) {
      b = (async () => {
        const { model, tokenizer } = await o.loadBase(base);
        const cache = new PagedKvCache(model.backend, model.config, { numBlocks: o.kvBlocks ?? 512, blockSize: 16 });
        const scheduler = new Scheduler(new Decoder(model, cache), { maxSequences: o.maxSequences ?? 64, maxBatchTokens: o.maxBatchTokens ?? 512 });
        const adapters = new AdapterCache(model, {
          engineBytes: o.engineAdapterBytes ?? 256 * 2 ** 20,
          hostBytes: o.hostAdapterBytes ?? 2 ** 30,
          load: async (key) => {
            const files = sources.get(key);
            if (!files) throw new Error(`no source for adapter ${key}`);
            return parsePeftAdapter(await files(), { config: model.config });
          },
        });
        return { model, tokenizer, scheduler, adapters };
      })();
      b.catch(() => bases.delete(base.id));
      bases.set(base.id, b);
    }
    return b;
  };

  return {
    kind: 'builtin',
    baseState,

    prefetch(m) {
      if (!m.adapter) return;
      const adapter = m.adapter;
      sources.set(adapter.key, adapter.files);
      baseState(m.base).then((b) => b.adapters.prefetch(adapter.key), () => {});
    },

    async complete(m: ServedModel, r: CompletionRequest): Promise<Completion> {
      const { tokenizer, scheduler, adapters } = await baseState(m.base);
      const prompt = promptTokens(tokenizer, r.prompt);
      const tokens: number[] = [];
      const stream = new TextStream(r.stop, r.onText);
      if (m.adapter) sources.set(m.adapter.key, m.adapter.files);
      // the adapter is pinned in the engine tier while the request generates
      const adapter = m.adapter ? await adapters.acquire(m.adapter.key) : null;
      try {
        const generated = await scheduler.generate({
          adapter, prompt, maxTokens: r.maxTokens, temperature: r.temperature, topP: r.topP, seed: r.seed,
          stopTokens: tokenizer.eosId !== undefined ? [tokenizer.eosId] : [],
          ...(r.signal ? { signal: r.signal } : {}),
          onToken: (t) => {
            tokens.push(t);
            return stream.update(tokenizer.decode(tokens, { skipSpecialTokens: true }));
          },
        });
        return { text: stream.end(), finishReason: generated.finishReason, promptTokens: prompt.length, completionTokens: tokens.length };
      } finally {
        if (m.adapter) adapters.release(m.adapter.key);
      }
    },

    async close() {
      bases.clear();
    },
  };
}
