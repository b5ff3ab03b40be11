import type { Hex } from 'viem';
import type { Backend } from '../model/backend.ts';
import { Llama } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { createLock } from '../util/lock.ts';

/** A base model on this machine's backend, shared by every adapter on it: the built-in engine serves it, attribution computes on it. */
export interface LoadedBase {
  model: Llama;
  tokenizer: Tokenizer;
  /**
   * Runs `fn` alone on this base: its activation buffers are shared, and a computation that awaits
   * (reading results) must not interleave with another one on the same base.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** Loads each base model once. */
export interface BaseLoader {
  base(id: string): Promise<LoadedBase>;
}

/**
 * Loads base models from their folders onto the backend, each once (a failed load is tried again
 * on the next request).
 *
 * @example
 * const bases = createBaseLoader({ backend, dirOf: async (id) => (await getBaseModel(db, id)).path });
 * const { model, tokenizer } = await bases.base(baseModelId);
 */
export function createBaseLoader(o: { backend: Backend; dirOf(id: Hex): Promise<string> }): BaseLoader {
  const bases = new Map<string, Promise<LoadedBase>>();
  return {
    base(id) {
      let b = bases.get(id);
      if (!b) {
        b = (async () => {
          const files = await readModelDir(await o.dirOf(id as Hex));
          return { model: Llama.fromTensors(o.backend, files.config, files.tensors, files.quantized), tokenizer: files.tokenizer, exclusive: createLock() };
        })();
        b.catch(() => bases.delete(id));
        bases.set(id, b);
      }
      return b;
    },
  };
}
