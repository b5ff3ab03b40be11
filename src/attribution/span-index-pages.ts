/**
 * Int32 arrays read on demand from files by fixed-size pages, through one shared page cache
 * (second-chance eviction, close to LRU), or held whole in memory: the span index's searches
 * read single entries through this, so an index larger than memory can be queried.
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SpanIndexError } from './span-index-format.ts';

/**
 * An int32 array: `at(i)` answers without I/O when it can (in memory, or its page is cached),
 * else `undefined`, and `load(i)` reads it. Searches use
 * `let v = a.at(i); if (v === undefined) v = await a.load(i);` so cached reads never yield.
 * `chunk(i)` is the cached run of entries holding i (a page, or the whole array), starting at
 * entry `chunkStart(i)`, for scanning consecutive entries without a lookup each.
 */
export interface Int32Source {
  readonly length: number;
  at(i: number): number | undefined;
  load(i: number): Promise<number>;
  chunk(i: number): Int32Array | undefined;
  chunkStart(i: number): number;
}

/** An Int32Source over an array in memory. */
export class MemoryInt32 implements Int32Source {
  readonly length: number;
  readonly data: Int32Array;
  private readonly what: string;
  constructor(data: Int32Array, what: string) {
    this.data = data;
    this.length = data.length;
    this.what = what;
  }
  at(i: number): number | undefined {
    return this.data[i];
  }
  chunk(i: number): Int32Array | undefined {
    return i >= 0 && i < this.length ? this.data : undefined;
  }
  chunkStart(): number {
    return 0;
  }
  load(i: number): Promise<number> {
    return Promise.reject(new SpanIndexError('span_index_corrupt', `${this.what}: read at ${i}, past its ${this.length} entries (corrupt index)`, 500));
  }
}

interface Page {
  data: Int32Array;
  used: boolean;
}

/** Pages of every file of an index, up to a byte budget. */
export class PageCache {
  readonly pageInts: number;
  readonly shift: number;
  readonly capacity: number;
  readonly pages = new Map<number, Page>();
  readonly pending = new Map<number, Promise<Int32Array>>();
  private files = 0;

  /** `pageBytes`: a power of two ≥ 16; `cacheBytes`: the budget (at least one page is kept). */
  constructor(pageBytes: number, cacheBytes: number) {
    if (!Number.isInteger(pageBytes) || pageBytes < 16 || (pageBytes & (pageBytes - 1)) !== 0 || pageBytes > 2 ** 24) {
      throw new SpanIndexError('invalid_option', `pageBytes must be a power of two in [16, 2^24], got ${pageBytes}`);
    }
    if (!(cacheBytes >= 0)) throw new SpanIndexError('invalid_option', `cacheBytes must be ≥ 0, got ${cacheBytes}`);
    this.pageInts = pageBytes / 4;
    this.shift = Math.log2(this.pageInts);
    this.capacity = Math.max(1, Math.floor(cacheBytes / pageBytes));
  }

  /** A key range for a new file's pages. */
  newFile(): number {
    return this.files++ * 2 ** 32;
  }

  get(key: number): Int32Array | undefined {
    const page = this.pages.get(key);
    if (page === undefined) return undefined;
    page.used = true;
    return page.data;
  }

  put(key: number, data: Int32Array): void {
    // Second chance: pages used since they were last passed over go to the back once.
    while (this.pages.size >= this.capacity) {
      const [oldest, page] = this.pages.entries().next().value!;
      this.pages.delete(oldest);
      if (page.used && this.pages.size > 0) {
        page.used = false;
        this.pages.set(oldest, page);
      }
    }
    this.pages.set(key, { data, used: false });
  }
}

/** An Int32Source over a file of little-endian int32, read by pages through a PageCache. */
export class PagedInt32 implements Int32Source {
  readonly length: number;
  private readonly fh: FileHandle;
  private readonly cache: PageCache;
  private readonly base: number;
  private readonly mask: number;
  private readonly path: string;
  private readonly sync: boolean;

  /** `sync`: read missing pages at once with a blocking pread in `at` (see OpenSpanIndexOptions.io). */
  constructor(fh: FileHandle, length: number, cache: PageCache, path: string, sync = false) {
    this.fh = fh;
    this.sync = sync;
    this.length = length;
    this.cache = cache;
    this.base = cache.newFile();
    this.mask = cache.pageInts - 1;
    this.path = path;
  }

  at(i: number): number | undefined {
    return this.chunk(i)?.[i & this.mask];
  }

  chunk(i: number): Int32Array | undefined {
    if (!(i >= 0 && i < this.length)) return undefined;
    const n = i >>> this.cache.shift;
    return this.cache.get(this.base + n) ?? (this.sync ? this.readNow(n) : undefined);
  }

  chunkStart(i: number): number {
    return i - (i & this.mask);
  }

  async load(i: number): Promise<number> {
    if (!(i >= 0 && i < this.length)) throw new SpanIndexError('span_index_corrupt', `${this.path}: read at ${i}, past its ${this.length} entries (corrupt index)`, 500);
    const page = await this.page(i >>> this.cache.shift);
    return page[i & this.mask]!;
  }

  private page(n: number): Promise<Int32Array> {
    const key = this.base + n;
    const cached = this.cache.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    const pending = this.cache.pending.get(key);
    if (pending !== undefined) return pending;
    const read = this.read(n).finally(() => this.cache.pending.delete(key));
    this.cache.pending.set(key, read);
    return read;
  }

  private async read(n: number): Promise<Int32Array> {
    const start = n * this.cache.pageInts;
    const data = new Int32Array(Math.min(this.cache.pageInts, this.length - start));
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.fh.read(new Uint8Array(data.buffer), 0, data.byteLength, start * 4));
    } catch (e) {
      throw this.unreadable(e);
    }
    return this.keep(n, data, bytesRead);
  }

  private readNow(n: number): Int32Array {
    const start = n * this.cache.pageInts;
    const data = new Int32Array(Math.min(this.cache.pageInts, this.length - start));
    let bytesRead: number;
    try {
      bytesRead = readSync(this.fh.fd, new Uint8Array(data.buffer), 0, data.byteLength, start * 4);
    } catch (e) {
      throw this.unreadable(e);
    }
    return this.keep(n, data, bytesRead);
  }

  private unreadable(e: unknown): SpanIndexError {
    return new SpanIndexError('span_index_unreadable', `${this.path}: cannot read (${(e as Error).message})`, 500);
  }

  private keep(n: number, data: Int32Array, bytesRead: number): Int32Array {
    if (bytesRead !== data.byteLength) {
      throw new SpanIndexError('span_index_corrupt', `${this.path} is truncated: ${bytesRead} of ${data.byteLength} bytes at offset ${n * this.cache.pageInts * 4}`, 500);
    }
    this.cache.put(this.base + n, data);
    return data;
  }
}
