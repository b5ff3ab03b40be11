import type { Backend, Tensor } from '../model/backend.ts';
import type { ModelConfig } from '../model/config.ts';
import { CodedError } from '../util/coded-error.ts';

/** No free KV block is left for a sequence to grow (the scheduler waits or preempts). */
export class KvCacheFullError extends CodedError {
  override name = 'KvCacheFullError';
  constructor(needed: number, free: number) {
    super('kv_cache_full', `the KV cache needs ${needed} more block(s) and has ${free} free`, 503);
  }
}

/**
 * A paged KV cache: per layer one key and one value tensor of `numBlocks × blockSize` slots, handed
 * to sequences a block at a time, so sequences of any length share the memory without
 * fragmentation and a finished sequence's blocks are reused at once.
 *
 * @example
 * const cache = new PagedKvCache(backend, config, { numBlocks: 256, blockSize: 16 });
 * cache.reserve('req-1', promptLength);
 * cache.release('req-1');
 */
export class PagedKvCache {
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly k: Tensor[];
  readonly v: Tensor[];
  private readonly free: number[];
  private readonly tables = new Map<string, number[]>();

  constructor(backend: Backend, config: ModelConfig, o: { numBlocks: number; blockSize: number }) {
    if (!Number.isInteger(o.numBlocks) || o.numBlocks < 1 || !Number.isInteger(o.blockSize) || o.blockSize < 1) throw new RangeError('numBlocks and blockSize must be positive integers');
    this.blockSize = o.blockSize;
    this.numBlocks = o.numBlocks;
    const slots = o.numBlocks * o.blockSize * config.numKvHeads * config.headDim;
    this.k = Array.from({ length: config.numLayers }, () => backend.zeros(slots));
    this.v = Array.from({ length: config.numLayers }, () => backend.zeros(slots));
    this.free = Array.from({ length: o.numBlocks }, (_, i) => o.numBlocks - 1 - i);
  }

  get freeBlocks(): number {
    return this.free.length;
  }

  /** Blocks a sequence of `length` tokens needs. */
  blocksFor(length: number): number {
    return Math.ceil(length / this.blockSize);
  }

  /** Makes room for `length` tokens of a sequence (all or nothing). */
  reserve(sequence: string, length: number): void {
    const table = this.tables.get(sequence) ?? [];
    const needed = this.blocksFor(length) - table.length;
    if (needed <= 0) return;
    if (needed > this.free.length) throw new KvCacheFullError(needed, this.free.length);
    for (let i = 0; i < needed; i++) table.push(this.free.pop()!);
    this.tables.set(sequence, table);
  }

  /** The slot of a sequence's token at `position` (reserved before). */
  slot(sequence: string, position: number): number {
    const block = this.tables.get(sequence)?.[Math.floor(position / this.blockSize)];
    if (block === undefined) throw new RangeError(`position ${position} of ${sequence} has no KV block`);
    return block * this.blockSize + (position % this.blockSize);
  }

  /** The blocks of a sequence, in order. */
  blockTable(sequence: string): readonly number[] {
    return this.tables.get(sequence) ?? [];
  }

  /** Gives a finished (or cancelled) sequence's blocks back. */
  release(sequence: string): void {
    const table = this.tables.get(sequence);
    if (!table) return;
    for (const b of table) this.free.push(b);
    this.tables.delete(sequence);
  }
}
