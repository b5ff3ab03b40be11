import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getAddress, type Address, type Hex } from 'viem';
import { getBaseModel, listBaseModels } from '../factory/base-models.ts';
import { traceFiles, traceFilesV1 } from '../factory/training-trace.ts';
import type { Backend } from '../model/backend.ts';
import { Llama, type LoraAdapter } from '../model/llama.ts';
import { readModelDir } from '../model/model-dir.ts';
import { parsePeftAdapter } from '../model/peft.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import type { BlobHash, BlobStore } from '../store/blobs.ts';
import type { Queryable } from '../store/database.ts';
import { prepareAttributionModel, type AttributionModel } from './attribution-model.ts';
import { ReceiptError } from './receipts.ts';
import type { ServedModel } from '../serve/engine.ts';
import { createLock } from '../util/lock.ts';
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
  adapter_config_blob: string; trace_blob: string; price_per_1k: string; active: boolean;
}

const toPublished = (r: Row): PublishedModel => ({
  name: r.model_name, modelId: r.model_id, owner: r.owner as Address, jobId: r.id, baseModelId: r.base_model_id as Hex, adapterHash: r.adapter_hash as Hex,
  adapterConfigBlob: r.adapter_config_blob as Hex, traceBlob: r.trace_blob as Hex, pricePer1kTokens: r.price_per_1k,
});

/**
 * Published models, as the ModelRegistry now has them: the owner, price and active flag projected
 * from its events (`models_on_chain`) over what the job published, so a transfer, a price change
 * or a deactivation on chain is what the node pays and charges by.
 */
const PUBLISHED = `select j.model_name, j.model_id::text, coalesce(m.owner, j.owner) as owner, j.id, j.base_model_id, j.adapter_hash,
    j.adapter_config_blob, j.trace_blob, coalesce(m.price_per_1k, j.price_per_1k)::text as price_per_1k, coalesce(m.active, true) as active
  from training_jobs j left join models_on_chain m on m.model_id = j.model_id
  where j.status = 'succeeded'`;

/**
 * A published model by name; a 404 when there is none, a 410 when its owner deactivated it on chain.
 *
 * @example
 * const m = await getPublishedModel(db, 'zorvania-qa');
 */
export async function getPublishedModel(db: Queryable, name: string): Promise<PublishedModel> {
  const [row] = await db.query<Row>(`${PUBLISHED} and j.model_name = $1 order by j.finished_at desc limit 1`, [name]);
  if (!row) throw new ReceiptError('model_not_found', `no published model "${name}"`, 404);
  if (!row.active) throw new ReceiptError('model_deactivated', `model "${name}" was deactivated in the ModelRegistry by its owner`, 410);
  return toPublished(row);
}

/** Every published model still active, newest first. */
export async function listPublishedModels(db: Queryable): Promise<PublishedModel[]> {
  return (await db.query<Row>(`${PUBLISHED} and coalesce(m.active, true) order by j.finished_at desc`)).map(toPublished);
}

/**
 * The owner of each named model, as the ModelRegistry has it now (active or not: a model's
 * receipts are paid after it is deactivated too).
 *
 * @example
 * const owners = await publishedModelOwners(db, ['zorvania-qa']); // { 'zorvania-qa': '0x…' }
 */
export async function publishedModelOwners(db: Queryable, names: string[]): Promise<Record<string, Address>> {
  const rows = await db.query<Row>(`select distinct on (j.model_name) * from (${PUBLISHED} and j.model_name = any($1)) j order by j.model_name`, [names]);
  return Object.fromEntries(rows.map((r) => [r.model_name, getAddress(r.owner)]));
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
  /**
   * Says this holder is done with the model: once no holder is left, the loader may free it (its
   * adapter's tensors, its span index's files) to stay within `maxLoaded`. Idempotent; a holder
   * that never calls it only keeps the model loaded.
   */
  release(): void;
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
    if (!/^[\w.-]+$/.test(name) || name === traceFiles.manifest) throw new ReceiptError('bad_trace', `trace ${traceBlob} lists a file named ${JSON.stringify(name)}`, 502);
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
  const bases = new Map<string, Promise<LoadedBase>>();
  /** Loaded models by name and adapter, least recently used first, with how many hold each. */
  const loaded = new Map<string, { model: Promise<Omit<LoadedModel, 'release'>>; users: number }>();

  // beyond `maxLoaded`, the least recently used models nobody holds are freed (on their base, alone)
  const evict = () => {
    for (const [key, e] of loaded) {
      if (loaded.size <= maxLoaded) return;
      if (e.users > 0) continue;
      loaded.delete(key);
      void e.model.then((m) => m.exclusive(async () => {
        m.model.freeLora(m.lora);
        await m.attribution.spans.close();
      })).catch(() => {});
    }
  };

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

  const loadOne = async (published: PublishedModel): Promise<Omit<LoadedModel, 'release'>> => {
    const { model, tokenizer, exclusive } = await base(published.baseModelId);
    const served = await servedModel(published);
    // attribution's own copy, with gradients (engines keep their serving copies)
    const lora = model.loadLora(parsePeftAdapter(await served.adapter!.files(), { config: model.config }), true);
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
    const key = `${name}/${published.adapterHash}`;
    let e = loaded.get(key);
    if (e) loaded.delete(key);
    else {
      const made = { model: loadOne(published), users: 0 };
      made.model.catch(() => {
        if (loaded.get(key) === made) loaded.delete(key);
      });
      e = made;
    }
    loaded.set(key, e); // most recently used last
    const entry = e;
    entry.users++;
    evict();
    let model: Omit<LoadedModel, 'release'>;
    try {
      model = await entry.model;
    } catch (err) {
      entry.users--;
      throw err;
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.users--;
      evict();
    };
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
        if (!(err instanceof ReceiptError && err.code === 'model_not_found')) throw err;
        const b = await o.source.baseModel?.(name);
        if (!b) throw err;
        return { kind: 'base', served: { name, base: b, adapter: null }, tokenizer: (await base(b.id)).tokenizer };
      }
    },
  };
}
