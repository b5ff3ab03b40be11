import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { getBaseModel, listBaseModels } from '../factory/base-models.ts';
import { getPublishedModel, type PublishedModel } from '../factory/published-models.ts';
import { traceFiles, traceFilesV1 } from '../factory/training-trace.ts';
import type { Backend } from '../model/backend.ts';
import type { Llama, LoraAdapter } from '../model/llama.ts';
import { parsePeftAdapter } from '../model/peft.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { BlobHash, BlobStore } from '../store/blobs.ts';
import type { Queryable } from '../store/database.ts';
import { prepareAttributionModel, type AttributionModel } from './attribution-model.ts';
import { ReceiptError } from './receipts.ts';
import { FactoryError } from '../factory/errors.ts';
import { createBaseLoader, type LoadedBase } from '../serve/base-loader.ts';
import type { ServedModel } from '../serve/engine.ts';
import { LruResources } from '../serve/lru-resources.ts';
import { readTrace } from './trace.ts';

/** A published model ready to generate and attribute. */
export interface LoadedModel {
  published: PublishedModel;
  /** The model as an engine serves it (base folder + adapter files). */
  served: ServedModel;
  tokenizer: Tokenizer;
  model: Llama;
  lora: LoraAdapter;
  attribution: AttributionModel;
  /**
   * Runs `fn` alone on this model's base: the base's activation buffers and the adapter's
   * gradients are shared, and a computation that awaits (reading results) must not interleave
   * with another one on the same base.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Says this holder is done with the model: once no holder is left, the loader may free it (its
   * adapter's tensors, its span index's files) to stay within `maxLoaded`. Idempotent; a holder
   * that never calls it only keeps the model loaded.
   */
  release(): void;
}

/** What a model name means: a published model (attributed, paid) or a base model alone (neither). */
export type ResolvedModel = { kind: 'published'; loaded: LoadedModel; served: ServedModel } | { kind: 'base'; served: ServedModel; tokenizer: Tokenizer };

export interface ModelLoader {
  /** A published model, loaded once and shared; `release()` it when done. */
  load(name: string): Promise<LoadedModel>;
  /** How many published models are loaded now. */
  readonly size: number;
  base(id: string): Promise<LoadedBase>;
  /** A published model by name, else a base model by name (404 when neither). */
  resolve(name: string): Promise<ResolvedModel>;
}

/** Where a loader finds published models, base-model folders and blobs: the node's store, or a node's API. */
export interface ModelSource {
  published(name: string): Promise<PublishedModel>;
  /** The folder of a base model on this machine. */
  baseModelDir(id: Hex): Promise<string>;
  /** A base model by name, when this source serves base models alone. */
  baseModel?(name: string): Promise<{ id: Hex; dir: string } | null>;
  blob(hash: Hex): Promise<Uint8Array>;
}

/**
 * The node's own store as a {@link ModelSource}.
 *
 * @example
 * const loader = createModelLoader({ source: storeModelSource(db, blobs), backend, cacheDir });
 */
export function storeModelSource(db: Queryable, blobs: BlobStore): ModelSource {
  return {
    published: (name) => getPublishedModel(db, name),
    baseModelDir: async (id) => (await getBaseModel(db, id)).path,
    baseModel: async (name) => {
      const [base] = (await listBaseModels(db)).filter((b) => b.name === name);
      return base ? { id: base.id, dir: base.path } : null;
    },
    blob: (hash) => blobs.get(hash as BlobHash),
  };
}

/**
 * A published trace's files by name, fetched by the content hashes its trace document lists (the
 * blob source checks each against its hash). Reads version 1 documents (`tokens`, `examples`,
 * `sketches`) and version 2 (`files`).
 */
async function traceFilesOf(source: ModelSource, traceBlob: Hex): Promise<Record<string, Uint8Array>> {
  const doc = JSON.parse(Buffer.from(await source.blob(traceBlob)).toString()) as
    | { version: 1; manifest: unknown; tokens: Hex; examples: Hex; sketches: Hex }
    | { version: 2; manifest: unknown; files: Record<string, Hex> };
  const files: Record<string, Hex> = doc.version === 2
    ? doc.files
    : { [traceFiles.tokens]: doc.tokens, [traceFiles.examples]: doc.examples, [traceFilesV1.sketches]: doc.sketches };
  const out: Record<string, Uint8Array> = { [traceFiles.manifest]: Buffer.from(JSON.stringify(doc.manifest)) };
  for (const [name, hash] of Object.entries(files)) {
    if (!/^[\w.-]+$/.test(name) || name === traceFiles.manifest) throw new ReceiptError('bad_trace', `trace ${traceBlob} lists a file named ${JSON.stringify(name)}`);
    out[name] = await source.blob(hash);
  }
  return out;
}

/**
 * Loads published models for attribution, each once: the base model (shared by every adapter on
 * it, and by the built-in engine through `base`), the adapter from the blob store (with gradients,
 * for gradient influence), the training trace (unpacked into `cacheDir/<trace blob>`) and its span
 * index (built there on first use). At most `maxLoaded` (default 32) are kept: beyond it the least
 * recently used one that no request holds (each `release()`s its model when its receipt is stored)
 * is freed, and loaded again from its cache when asked for; models in use are never freed (the
 * bound is exceeded while more are in use at once).
 *
 * @example
 * const models = createModelLoader({ source: storeModelSource(db, blobs), backend, cacheDir: join(dataDir, 'attribution') });
 * const { model, lora, attribution } = await models.load('zorvania-qa');
 */
export function createModelLoader(o: { source: ModelSource; backend: Backend; cacheDir: string; maxLoaded?: number }): ModelLoader {
  const maxLoaded = o.maxLoaded ?? 32;
  const bases = createBaseLoader({ backend: o.backend, dirOf: (id) => o.source.baseModelDir(id) });
  // beyond `maxLoaded`, the least recently used models nobody holds are freed (on their base, alone)
  const loaded = new LruResources<Omit<LoadedModel, 'release'>>({
    max: maxLoaded,
    dispose: (m) => m.exclusive(async () => {
      m.model.freeLora(m.lora);
      await m.attribution.spans.close();
    }),
  });

  const base = (id: string): Promise<LoadedBase> => bases.base(id);

  const servedModel = async (published: PublishedModel): Promise<ServedModel> => ({
    name: published.name,
    base: { id: published.baseModelId, dir: await o.source.baseModelDir(published.baseModelId) },
    adapter: {
      key: `${published.adapterHash}:${published.adapterConfigBlob}`,
      files: async () => ({ 'adapter_config.json': await o.source.blob(published.adapterConfigBlob), 'adapter_model.safetensors': await o.source.blob(published.adapterHash) }),
    },
  });

  const loadOne = async (published: PublishedModel): Promise<Omit<LoadedModel, 'release'>> => {
    const { model, tokenizer, exclusive } = await base(published.baseModelId);
    const served = await servedModel(published);
    // attribution's own copy, with gradients (engines keep their serving copies)
    const lora = model.loadLora(parsePeftAdapter(await served.adapter!.files(), { config: model.config }), 'trainable');
    const dir = join(o.cacheDir, published.traceBlob);
    await mkdir(dir, { recursive: true });
    for (const [name, data] of Object.entries(await traceFilesOf(o.source, published.traceBlob))) await writeFile(join(dir, name), data);
    const trace = await readTrace(dir);
    // the span index, the base model's surprisal and the influence features, built on first use
    const attribution = await exclusive(() => prepareAttributionModel({ model, lora, tokenizer, trace, cacheDir: join(dir, 'derived') }));
    return { published, served, tokenizer, model, lora, attribution, exclusive };
  };

  const load = async (name: string): Promise<LoadedModel> => {
    const published = await o.source.published(name);
    const { value: model, release } = await loaded.acquire(`${name}/${published.adapterHash}`, () => loadOne(published));
    // the model as loaded, with what the chain says of it now (its price and owner may have changed since)
    return { ...model, published, release };
  };

  return {
    load,
    base,
    get size() {
      return loaded.size;
    },
    async resolve(name) {
      try {
        const loaded = await load(name);
        return { kind: 'published', loaded, served: loaded.served };
      } catch (err) {
        if (!(err instanceof FactoryError && err.code === 'model_not_found')) throw err;
        const b = await o.source.baseModel?.(name);
        if (!b) throw err;
        return { kind: 'base', served: { name, base: b, adapter: null }, tokenizer: (await base(b.id)).tokenizer };
      }
    },
  };
}
