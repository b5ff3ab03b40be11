interface Entry<T> {
  value: Promise<T>;
  users: number;
}

interface Options<T> {
  max: number;
  /** Makes a missing resource (or pass one to `acquire`). */
  create?(key: string): Promise<T>;
  dispose(value: T, key: string): Promise<void> | void;
}

/**
 * Resources made on demand by key (an engine context, a registration on a remote server), at most
 * `max` kept: beyond it the least recently used one nobody is using is disposed. A resource in use
 * is never disposed (the bound is exceeded while more than `max` are busy at once).
 *
 * @example
 * const contexts = new LruResources({ max: 8, create: (adapter) => makeContext(adapter), dispose: (c) => c.dispose() });
 * const text = await contexts.use(adapterKey, (context) => generate(context, prompt));
 */
export class LruResources<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly o: Options<T>;

  constructor(o: Options<T>) {
    this.o = o;
  }

  /** How many resources are kept. */
  get size(): number {
    return this.entries.size;
  }

  /** Runs `fn` with the resource for `key` (made if missing), which stays alive until `fn` ends. */
  async use<R>(key: string, fn: (value: T) => Promise<R>): Promise<R> {
    const { value, release } = await this.acquire(key);
    try {
      return await fn(value);
    } finally {
      release();
    }
  }

  /**
   * Takes the resource for `key` (made if missing, by `create` when given, else by the one the
   * resources were made with), kept alive until `release()` is called; a second call does nothing.
   *
   * @example
   * const { value: model, release } = await models.acquire(key, () => loadModel(published));
   */
  async acquire(key: string, create?: (key: string) => Promise<T>): Promise<{ value: T; release(): void }> {
    let e = this.entries.get(key);
    if (e) this.entries.delete(key);
    else {
      const make = create ?? this.o.create;
      if (!make) throw new TypeError(`nothing makes the resource ${key}: pass create`);
      const made: Entry<T> = { value: make(key), users: 0 };
      made.value.catch(() => {
        if (this.entries.get(key) === made) this.entries.delete(key);
      });
      e = made;
    }
    this.entries.set(key, e); // most recently used last
    const entry = e;
    entry.users++;
    this.evict();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.users--;
      this.evict();
    };
    try {
      return { value: await entry.value, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Drops a resource without disposing of it (it is gone already, e.g. a remote server restarted). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Disposes of every resource. */
  async clear(): Promise<void> {
    const all = [...this.entries];
    this.entries.clear();
    for (const [key, e] of all) {
      const value = await e.value.catch(() => null);
      if (value !== null) await this.o.dispose(value, key);
    }
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.o.max) return;
      if (e.users > 0) continue;
      this.entries.delete(key);
      e.value.then((v) => this.o.dispose(v, key)).catch(() => {});
    }
  }
}
