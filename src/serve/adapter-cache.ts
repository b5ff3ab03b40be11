import type { Llama, LoraAdapter } from '../model/llama.ts';
import type { LoraAdapterWeights } from '../model/lora-weights.ts';
import { CodedError } from '../util/coded-error.ts';

/** Every adapter in the engine tier is in use (pinned) and another does not fit. */
export class AdapterCacheFullError extends CodedError {
  override name = 'AdapterCacheFullError';
}

export interface AdapterCacheOptions {
  /** Bytes of adapters kept on the engine (on the WebGPU backend: GPU memory, in its adapter pool). */
  engineBytes: number;
  /** Bytes of parsed adapters kept in host memory. */
  hostBytes: number;
  /** The last tier: fetch an adapter's weights (blob store, disk, a remote node). */
  load(key: string): Promise<LoraAdapterWeights>;
}

export interface AdapterCacheStats {
  engineHits: number;
  hostHits: number;
  loads: number;
  engineEvictions: number;
  hostEvictions: number;
  engineBytes: number;
  hostBytes: number;
}

const bytesOf = (w: LoraAdapterWeights) => w.layers.reduce((n, l) => n + Object.values(l).reduce((m, p) => m + (p ? (p.a.length + p.b.length) * 4 : 0), 0), 0);

/**
 * Adapters in three tiers — on the engine, in host memory, in the store — each bounded in bytes,
 * least recently used evicted first. An adapter in use is pinned (never evicted from the engine)
 * until released; `prefetch` brings one into host memory ahead of its request, so the request only
 * pays the (sub-millisecond) upload.
 *
 * @example
 * const cache = new AdapterCache(model, { engineBytes: 256 << 20, hostBytes: 2 << 30, load: (hash) => fromBlobs(hash) });
 * const adapter = await cache.acquire(hash);
 * try { await scheduler.generate({ adapter, … }); } finally { cache.release(hash); }
 */
export class AdapterCache {
  readonly model: Llama;
  readonly options: AdapterCacheOptions;
  // Maps keep insertion order: re-inserting on use makes the first entry the least recently used.
  private readonly engine = new Map<string, { adapter: LoraAdapter; bytes: number; pins: number }>();
  private readonly host = new Map<string, { weights: LoraAdapterWeights; bytes: number }>();
  private readonly loading = new Map<string, Promise<LoraAdapterWeights>>();
  private readonly counters = { engineHits: 0, hostHits: 0, loads: 0, engineEvictions: 0, hostEvictions: 0 };

  constructor(model: Llama, options: AdapterCacheOptions) {
    this.model = model;
    this.options = options;
  }

  get stats(): AdapterCacheStats {
    const sum = (m: Map<string, { bytes: number }>) => [...m.values()].reduce((n, e) => n + e.bytes, 0);
    return { ...this.counters, engineBytes: sum(this.engine), hostBytes: sum(this.host) };
  }

  /** Whether an adapter is on the engine now. */
  isResident(key: string): boolean {
    return this.engine.has(key);
  }

  /** Starts bringing an adapter into host memory (errors surface at `acquire`). */
  prefetch(key: string): void {
    if (!this.engine.has(key) && !this.host.has(key)) this.fromStore(key).catch(() => {});
  }

  /** The adapter on the engine, pinned until {@link release}. */
  async acquire(key: string): Promise<LoraAdapter> {
    const resident = this.engine.get(key);
    if (resident) {
      this.counters.engineHits++;
      this.engine.delete(key);
      this.engine.set(key, resident);
      resident.pins++;
      return resident.adapter;
    }
    let weights: LoraAdapterWeights;
    const inHost = this.host.get(key);
    if (inHost) {
      this.counters.hostHits++;
      this.host.delete(key);
      this.host.set(key, inHost);
      weights = inHost.weights;
    } else {
      weights = await this.fromStore(key);
    }
    const again = this.engine.get(key); // another request uploaded it meanwhile
    if (again) {
      again.pins++;
      return again.adapter;
    }
    // on the engine an adapter also holds the backend's serving form of its factors
    const bytes = this.model.loraBytes(weights);
    this.makeRoom(this.engine, this.options.engineBytes, bytes, (e) => e.pins === 0, (key, e) => {
      this.model.freeLora(e.adapter);
      this.counters.engineEvictions++;
    });
    const entry = { adapter: this.model.loadLora(weights, 'serving'), bytes, pins: 1 };
    this.engine.set(key, entry);
    return entry.adapter;
  }

  /** Unpins an adapter acquired before. */
  release(key: string): void {
    const e = this.engine.get(key);
    if (e && e.pins > 0) e.pins--;
  }

  private fromStore(key: string): Promise<LoraAdapterWeights> {
    let p = this.loading.get(key);
    if (!p) {
      p = this.options.load(key).then((weights) => {
        this.counters.loads++;
        const bytes = bytesOf(weights);
        this.makeRoom(this.host, this.options.hostBytes, bytes, () => true, () => this.counters.hostEvictions++);
        if (bytes <= this.options.hostBytes) this.host.set(key, { weights, bytes });
        return weights;
      }).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  private makeRoom<E extends { bytes: number }>(tier: Map<string, E>, bound: number, needed: number, evictable: (e: E) => boolean, evicted: (key: string, e: E) => void): void {
    let used = [...tier.values()].reduce((n, e) => n + e.bytes, 0);
    for (const [key, e] of [...tier]) {
      if (used + needed <= bound) return;
      if (!evictable(e)) continue;
      tier.delete(key);
      used -= e.bytes;
      evicted(key, e);
    }
    if (tier === (this.engine as unknown) && used + needed > bound) {
      throw new AdapterCacheFullError('adapter_cache_full', `the engine's adapter memory (${bound} bytes) is full of adapters in use`);
    }
  }
}
