import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { getBaseModel, listBaseModels } from '../factory/base-models.ts';
import { traceFiles } from '../factory/training-trace.ts';
import type { Backend } from '../model/backend.ts';
import { Llama, type LoraAdapter } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import { parsePeftAdapter } from '../model/peft.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { BlobHash, BlobStore } from '../store/blobs.ts';
import type { Queryable } from '../store/database.ts';
import type { AttributionModel } from './attribute.ts';
import { ReceiptError } from './receipts.ts';
import type { ServedModel } from '../serve/engine.ts';
import { createLock } from '../util/lock.ts';
import { openTraceSpans } from './trace-spans.ts';
import { readTrace } from './trace.ts';

/** A model ModelFactory published: its adapter, its base, its trace, its price. */
export interface PublishedModel {
  name: string;
  /** ModelRegistry id. */
  modelId: string;
  owner: Address;
  jobId: string;
  baseModelId: Hex;
  adapterHash: Hex;
  adapterConfigBlob: Hex;
  traceBlob: Hex;
  pricePer1kTokens: string;
}

interface Row {
  model_name: string; model_id: string; owner: string; id: string; base_model_id: string; adapter_hash: string;
  adapter_config_blob: string; trace_blob: string; price_per_1k: string;
}

const toPublished = (r: Row): PublishedModel => ({
  name: r.model_name, modelId: r.model_id, owner: r.owner as Address, jobId: r.id, baseModelId: r.base_model_id as Hex, adapterHash: r.adapter_hash as Hex,
  adapterConfigBlob: r.adapter_config_blob as Hex, traceBlob: r.trace_blob as Hex, pricePer1kTokens: r.price_per_1k,
});

/**
 * A published model by name.
 *
 * @example
 * const m = await getPublishedModel(db, 'zorvania-qa');
 */
export async function getPublishedModel(db: Queryable, name: string): Promise<PublishedModel> {
  const [row] = await db.query<Row>(`select * from training_jobs where model_name = $1 and status = 'succeeded' order by finished_at desc limit 1`, [name]);
  if (!row) throw new ReceiptError('model_not_found', `no published model "${name}"`, 404);
  return toPublished(row);
}

/** Every published model, newest first. */
export async function listPublishedModels(db: Queryable): Promise<PublishedModel[]> {
  return (await db.query<Row>(`select * from training_jobs where status = 'succeeded' order by finished_at desc`)).map(toPublished);
}

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
}

/** A base model on this machine's backend, shared by every adapter on it and by the built-in engine. */
export interface LoadedBase {
  model: Llama;
  tokenizer: Tokenizer;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

/** What a model name means: a published model (attributed, paid) or a base model alone (neither). */
export type ResolvedModel = { kind: 'published'; loaded: LoadedModel; served: ServedModel } | { kind: 'base'; served: ServedModel; tokenizer: Tokenizer };

export interface ModelLoader {
  load(name: string): Promise<LoadedModel>;
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
 * Loads published models for attribution, each once: the base model (shared by every adapter on
 * it, and by the built-in engine through `base`), the adapter from the blob store (with gradients,
 * for gradient influence), the training trace (unpacked into `cacheDir/<trace blob>`) and its span
 * index (built there on first use).
 *
 * @example
 * const models = createModelLoader({ source: storeModelSource(db, blobs), backend, cacheDir: join(dataDir, 'attribution') });
 * const { model, lora, attribution } = await models.load('zorvania-qa');
 */
export function createModelLoader(o: { source: ModelSource; backend: Backend; cacheDir: string }): ModelLoader {
  const bases = new Map<string, Promise<LoadedBase>>();
  const loaded = new Map<string, Promise<LoadedModel>>();

  const base = (id: string): Promise<LoadedBase> => {
    let b = bases.get(id);
    if (!b) {
      b = (async () => {
        const files = await readModelDir(await o.source.baseModelDir(id as Hex));
        return { model: Llama.fromTensors(o.backend, files.config, files.tensors), tokenizer: files.tokenizer, exclusive: createLock() };
      })();
      b.catch(() => bases.delete(id));
      bases.set(id, b);
    }
    return b;
  };

  const servedModel = async (published: PublishedModel): Promise<ServedModel> => ({
    name: published.name,
    base: { id: published.baseModelId, dir: await o.source.baseModelDir(published.baseModelId) },
    adapter: {
      key: `${published.adapterHash}:${published.adapterConfigBlob}`,
      files: async () => ({ 'adapter_config.json': await o.source.blob(published.adapterConfigBlob), 'adapter_model.safetensors': await o.source.blob(published.adapterHash) }),
    },
  });

  const loadOne = async (published: PublishedModel): Promise<LoadedModel> => {
    const { model, tokenizer, exclusive } = await base(published.baseModelId);
    const served = await servedModel(published);
    // attribution's own copy, with gradients (engines keep their serving copies)
    const lora = model.loadLora(parsePeftAdapter(await served.adapter!.files(), { config: model.config }), true);
    const dir = join(o.cacheDir, published.traceBlob);
    await mkdir(dir, { recursive: true });
    const pointers = JSON.parse(Buffer.from(await o.source.blob(published.traceBlob)).toString()) as { manifest: unknown; tokens: Hex; examples: Hex; sketches: Hex };
    await writeFile(join(dir, traceFiles.manifest), JSON.stringify(pointers.manifest));
    for (const key of ['tokens', 'examples', 'sketches'] as const) await writeFile(join(dir, traceFiles[key]), await o.source.blob(pointers[key]));
    const trace = await readTrace(dir);
    const spans = await openTraceSpans(join(dir, 'index'), trace, model.config.vocabSize);
    return { published, served, tokenizer, model, lora, attribution: { model, lora, tokenizer, trace, spans }, exclusive };
  };

  const load = async (name: string) => {
    const published = await o.source.published(name);
    const key = `${name}/${published.adapterHash}`;
    let m = loaded.get(key);
    if (!m) {
      m = loadOne(published);
      m.catch(() => loaded.delete(key));
      loaded.set(key, m);
    }
    return m;
  };

  return {
    load,
    base,
    async resolve(name) {
      try {
        const loaded = await load(name);
        return { kind: 'published', loaded, served: loaded.served };
      } catch (err) {
        if (!(err instanceof ReceiptError && err.code === 'model_not_found')) throw err;
        const b = await o.source.baseModel?.(name);
        if (!b) throw err;
        return { kind: 'base', served: { name, base: b, adapter: null }, tokenizer: (await base(b.id)).tokenizer };
      }
    },
  };
}
