import { join } from 'node:path';
import type { Llama } from '../model/llama.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { createBuiltinEngine } from './builtin-engine.ts';
import type { Engine, ServedModel } from './engine.ts';
import { createLlamaCppEngine } from './llama-cpp-engine.ts';
import { createRemoteEngine } from './remote-engine.ts';

export interface EngineSettings {
  engine: 'builtin' | 'llama.cpp' | 'remote';
  engineUrl?: string | undefined;
  engineApiKey?: string | undefined;
  engineBaseModel?: string | undefined;
  engineAdapterDir?: string | undefined;
  engineRemoteAdapterDir?: string | undefined;
  engineGpu?: 'false' | 'cuda' | 'vulkan' | 'auto';
  dataDir: string;
}

/**
 * The engine a node's configuration names: `builtin` (default; shares the base models attribution
 * loads), `llama.cpp` (GGUF exports in `<dataDir>/llama.cpp`) or `remote` (a vLLM server; adapters
 * written to `engineAdapterDir`, default `<dataDir>/remote-adapters`).
 *
 * @example
 * const engine = createEngine(config, { loadBase: (b) => models.base(b.id) });
 */
export function createEngine(s: EngineSettings, o: { loadBase(base: ServedModel['base']): Promise<{ model: Llama; tokenizer: Tokenizer }>}): Engine {
  switch (s.engine) {
    case 'builtin':
      return createBuiltinEngine({ loadBase: o.loadBase });
    case 'llama.cpp':
      return createLlamaCppEngine({
        cacheDir: join(s.dataDir, 'llama.cpp'), gpu: s.engineGpu === undefined || s.engineGpu === 'false' ? false : s.engineGpu,
      });
    case 'remote':
      if (!s.engineUrl || !s.engineBaseModel) throw new Error('the remote engine needs engineUrl and engineBaseModel');
      return createRemoteEngine({
        url: s.engineUrl, baseModel: s.engineBaseModel, adapterDir: s.engineAdapterDir ?? join(s.dataDir, 'remote-adapters'),
        ...(s.engineApiKey ? { apiKey: s.engineApiKey } : {}), ...(s.engineRemoteAdapterDir ? { remoteAdapterDir: s.engineRemoteAdapterDir } : {}),
      });
  }
}
