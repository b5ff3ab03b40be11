/**
 * Int32 arrays read on demand from files by fixed-size pages through one shared page cache, or
 * held whole in memory: the span index's searches read single entries through this, so an index
 * larger than memory can be queried. The cache is one preallocated slab of page slots with CLOCK
 * (second-chance) eviction: no allocation per page read, and its memory is exactly its budget.
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { SpanIndexError } from './span-index-format.ts';

/**
 * An int32 array whose cached entries sit in `buffer`: `locate(i)` is entry i's index there, or
 * -1 when it must be read first with `load(i)`; `runLength(i)` how many entries from i on lie
 * consecutively there (to the end of i's page). Searches use the cached entries synchronously and
 * await `load` only on a miss.
 */
export interface Int32Source {
  readonly length: number;
  readonly buffer: Int32Array;
  locate(i: number): number;
  runLength(i: number): number;
  load(i: number): Promise<number>;
}

/** Entry i of a source if cached, else undefined. */
export function cachedAt(source: Int32Source, i: number): number | undefined {
  const k = source.locate(i);
  return k < 0 ? undefined : source.buffer[k];
}

/** An Int32Source over an array in memory. */
export class MemoryInt32 implements Int32Source {
  readonly length: number;
  readonly buffer: Int32Array;
  private readonly what: string;
  constructor(data: Int32Array, what: string) {
    this.buffer = data;
    this.length = data.length;
    this.what = what;
  }
  locate(i: number): number {
    return i >= 0 && i < this.length ? i : -1;
  }
  runLength(i: number): number {
    return this.length - i;
  }
  load(i: number): Promise<number> {
    return Promise.reject(new SpanIndexError('span_index_corrupt', `${this.what}: read at ${i}, past its ${this.length} entries (corrupt index)`));
  }
}

/**
 * Pages of every file of an index in one slab, up to a byte budget. Slots being read into are
 * busy (never evicted); when every slot is busy, a read goes to a page of its own, uncached.
 */
export class PageCache {
  readonly pageInts: number;
  readonly shift: number;
  readonly capacity: number;
  readonly slab: Int32Array;
  readonly pending = new Map<number, Promise<Int32Array>>();
  private readonly slotOf = new Map<number, number>();
  private readonly keys: Float64Array;
  private readonly used: Uint8Array;
  private readonly busy: Uint8Array;
  private hand = 0;
  private files = 0;

  /** `pageBytes`: a power of two in [16, 2^24]; `cacheBytes`: the budget (at least one page). */
  constructor(pageBytes: number, cacheBytes: number) {
    if (!Number.isInteger(pageBytes) || pageBytes < 16 || (pageBytes & (pageBytes - 1)) !== 0 || pageBytes > 2 ** 24) {
      throw new SpanIndexError('invalid_option', `pageBytes must be a power of two in [16, 2^24], got ${pageBytes}`);
    }
    if (!(cacheBytes >= 0 && cacheBytes < 2 ** 40)) throw new SpanIndexError('invalid_option', `cacheBytes must be in [0, 2^40), got ${cacheBytes}`);
    this.pageInts = pageBytes / 4;
    this.shift = Math.log2(this.pageInts);
    this.capacity = Math.max(1, Math.floor(cacheBytes / pageBytes));
    this.slab = new Int32Array(this.capacity * this.pageInts);
    this.keys = new Float64Array(this.capacity).fill(-1);
    this.used = new Uint8Array(this.capacity);
    this.busy = new Uint8Array(this.capacity);
  }

  /** A key range for a new file's pages. */
  newFile(): number {
    return this.files++ * 2 ** 32;
  }

  /** The slot holding page `key`, or -1. */
  slot(key: number): number {
    const s = this.slotOf.get(key);
    if (s === undefined) return -1;
    this.used[s] = 1;
    return s;
  }

  /** A slot to read a page into (evicting by CLOCK), or -1 when all are busy; `fill` or `release` it after. */
  claim(): number {
    for (let passes = 0; passes < 3 * this.capacity; passes++) {
      const s = this.hand;
      this.hand = s + 1 === this.capacity ? 0 : s + 1;
      if (this.busy[s] === 1) continue;
      if (this.used[s] === 1) {
        this.used[s] = 0;
        continue;
      }
      if (this.keys[s]! >= 0) this.slotOf.delete(this.keys[s]!);
      this.keys[s] = -1;
      this.busy[s] = 1;
      return s;
    }
    return -1;
  }

  fill(s: number, key: number): void {
    this.busy[s] = 0;
    this.used[s] = 1;
    this.keys[s] = key;
    this.slotOf.set(key, s);
  }

  release(s: number): void {
    this.busy[s] = 0;
  }
}

/** An Int32Source over a file of little-endian int32, read by pages through a PageCache. */
export class PagedInt32 implements Int32Source {
  readonly length: number;
  readonly buffer: Int32Array;
  private readonly fh: FileHandle;
  private readonly cache: PageCache;
  private readonly base: number;
  private readonly mask: number;
  private readonly path: string;
  private readonly sync: boolean;

  /** `sync`: read missing pages at once with a blocking pread in `locate` (see OpenSpanIndexOptions.io). */
  constructor(fh: FileHandle, length: number, cache: PageCache, path: string, sync = false) {
    this.fh = fh;
    this.length = length;
    this.cache = cache;
    this.buffer = cache.slab;
    this.base = cache.newFile();
    this.mask = cache.pageInts - 1;
    this.path = path;
    this.sync = sync;
  }

  locate(i: number): number {
    if (!(i >= 0 && i < this.length)) return -1;
    const n = i >>> this.cache.shift;
    let s = this.cache.slot(this.base + n);
    if (s < 0) {
      if (!this.sync) return -1;
      s = this.readNow(n);
    }
    return s * this.cache.pageInts + (i & this.mask);
  }

  runLength(i: number): number {
    return Math.min(this.cache.pageInts - (i & this.mask), this.length - i);
  }

  async load(i: number): Promise<number> {
    if (!(i >= 0 && i < this.length)) throw new SpanIndexError('span_index_corrupt', `${this.path}: read at ${i}, past its ${this.length} entries (corrupt index)`);
    const n = i >>> this.cache.shift;
    const key = this.base + n;
    const s = this.cache.slot(key);
    if (s >= 0) return this.cache.slab[s * this.cache.pageInts + (i & this.mask)]!;
    let pending = this.cache.pending.get(key);
    if (pending === undefined) {
      pending = this.read(n).finally(() => this.cache.pending.delete(key));
      this.cache.pending.set(key, pending);
    }
    // Waiters run as soon as the read settles, before any other read can reuse its slot.
    return (await pending)[i & this.mask]!;
  }

  /** Page n's bytes in the file: [length, position]. */
  private extent(n: number): [number, number] {
    return [Math.min(this.cache.pageInts, this.length - n * this.cache.pageInts) * 4, n * this.cache.pageInts * 4];
  }

  /** Reads page n into a cache slot (or a page of its own when none is free); resolves to its entries. */
  private async read(n: number): Promise<Int32Array> {
    const s = this.cache.claim();
    const [bytes, position] = this.extent(n);
    const page = s >= 0 ? this.cache.slab.subarray(s * this.cache.pageInts, s * this.cache.pageInts + bytes / 4) : new Int32Array(bytes / 4);
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.fh.read(new Uint8Array(page.buffer, page.byteOffset, bytes), 0, bytes, position));
    } catch (e) {
      if (s >= 0) this.cache.release(s);
      throw this.unreadable(e);
    }
    if (s >= 0) this.keep(n, s, bytesRead, bytes);
    else this.check(n, bytesRead, bytes);
    return page;
  }

  /** Reads page n into a slot at once (sync mode: no read is ever in flight, so a slot is free). */
  private readNow(n: number): number {
    const s = this.cache.claim();
    const [bytes, position] = this.extent(n);
    let bytesRead: number;
    try {
      bytesRead = readSync(this.fh.fd, new Uint8Array(this.cache.slab.buffer), s * this.cache.pageInts * 4, bytes, position);
    } catch (e) {
      this.cache.release(s);
      throw this.unreadable(e);
    }
    this.keep(n, s, bytesRead, bytes);
    return s;
  }

  private unreadable(e: unknown): SpanIndexError {
    return new SpanIndexError('span_index_unreadable', `${this.path}: cannot read (${(e as Error).message})`);
  }

  private check(n: number, bytesRead: number, bytes: number): void {
    if (bytesRead !== bytes) {
      throw new SpanIndexError('span_index_corrupt', `${this.path} is truncated: ${bytesRead} of ${bytes} bytes at offset ${n * this.cache.pageInts * 4}`);
    }
  }

  private keep(n: number, s: number, bytesRead: number, bytes: number): void {
    try {
      this.check(n, bytesRead, bytes);
    } catch (e) {
      this.cache.release(s);
      throw e;
    }
    this.cache.fill(s, this.base + n);
  }
}
