import { createHash } from 'node:crypto';
import type { Backend, Tensor } from './backend.ts';
import type { ModelConfig } from './config.ts';
import { CodedError } from '../util/coded-error.ts';

/** No free KV block is left for a sequence to grow (the scheduler waits or preempts). */
export class KvCacheFullError extends CodedError {
  override name = 'KvCacheFullError';
  constructor(needed: number, free: number) {
    super('kv_cache_full', `the KV cache needs ${needed} more block(s) and has ${free} free`);
  }
}

/**
 * A paged KV cache: per layer one key and one value tensor of `numBlocks × blockSize` slots, handed
 * to sequences a block at a time, so sequences of any length share the memory without
 * fragmentation and a finished sequence's blocks are reused at once.
 *
 * Prefix reuse: a full block of prompt tokens is registered under a hash of everything before and
 * in it (and of the adapter, whose k/v projections it depends on); a later sequence with the same
 * prefix adopts those blocks instead of computing them. A released block that holds a registered
 * prefix stays reusable until its memory is needed (least recently released first).
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
  private readonly refs: Int32Array;
  private readonly byHash = new Map<string, number>();
  private readonly hashOf = new Map<number, string>();
  /** Registered blocks no sequence uses, least recently released first. */
  private readonly reusable = new Set<number>();
  /** Prompt tokens that were adopted from earlier sequences instead of being computed. */
  prefixTokensReused = 0;

  private readonly backend: Backend;

  constructor(backend: Backend, config: ModelConfig, o: { numBlocks: number; blockSize: number }) {
    this.backend = backend;
    if (!Number.isInteger(o.numBlocks) || o.numBlocks < 1 || !Number.isInteger(o.blockSize) || o.blockSize < 1) throw new RangeError('numBlocks and blockSize must be positive integers');
    this.blockSize = o.blockSize;
    this.numBlocks = o.numBlocks;
    const slots = o.numBlocks * o.blockSize * config.numKvHeads * config.headDim;
    this.k = Array.from({ length: config.numLayers }, () => backend.zeros(slots));
    this.v = Array.from({ length: config.numLayers }, () => backend.zeros(slots));
    this.free = Array.from({ length: o.numBlocks }, (_, i) => o.numBlocks - 1 - i);
    this.refs = new Int32Array(o.numBlocks);
  }

  /** Blocks a sequence could get now (free, or holding a reusable prefix no one uses). */
  get freeBlocks(): number {
    return this.free.length + this.reusable.size;
  }

  private takeBlock(): number {
    const block = this.free.pop();
    if (block !== undefined) return block;
    const [oldest] = this.reusable;
    this.reusable.delete(oldest!);
    this.byHash.delete(this.hashOf.get(oldest!)!);
    this.hashOf.delete(oldest!);
    return oldest!;
  }

  private blockHash(previous: string, prefixKey: string, tokens: readonly number[]): string {
    return createHash('sha256').update(previous).update(prefixKey).update(Int32Array.from(tokens)).digest('hex');
  }

  /**
   * Gives a new sequence the registered blocks of its longest cached prefix (whole blocks, always
   * leaving its last token to compute); returns how many tokens it need not compute.
   */
  adoptPrefix(sequence: string, prefixKey: string, tokens: readonly number[]): number {
    if (this.tables.has(sequence)) return 0;
    const table: number[] = [];
    let hash = '';
    for (let i = 0; (i + 1) * this.blockSize < tokens.length; i++) {
      hash = this.blockHash(hash, prefixKey, tokens.slice(i * this.blockSize, (i + 1) * this.blockSize));
      const block = this.byHash.get(hash);
      if (block === undefined) break;
      this.reusable.delete(block);
      this.refs[block]!++;
      table.push(block);
    }
    if (table.length > 0) this.tables.set(sequence, table);
    this.prefixTokensReused += table.length * this.blockSize;
    return table.length * this.blockSize;
  }

  /** Registers a sequence's full blocks among its first `computed` tokens, for later sequences to adopt. */
  publishPrefix(sequence: string, prefixKey: string, tokens: readonly number[], computed: number): void {
    const table = this.tables.get(sequence) ?? [];
    let hash = '';
    for (let i = 0; (i + 1) * this.blockSize <= computed && i < table.length; i++) {
      hash = this.blockHash(hash, prefixKey, tokens.slice(i * this.blockSize, (i + 1) * this.blockSize));
      const block = table[i]!;
      if (this.hashOf.has(block)) continue;
      if (this.byHash.has(hash)) continue; // the same prefix is already kept in another block
      this.byHash.set(hash, block);
      this.hashOf.set(block, hash);
    }
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
    if (needed > this.freeBlocks) throw new KvCacheFullError(needed, this.freeBlocks);
    for (let i = 0; i < needed; i++) {
      const block = this.takeBlock();
      this.refs[block] = 1;
      table.push(block);
    }
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
    for (const b of table) {
      if (--this.refs[b]! > 0) continue;
      if (this.hashOf.has(b)) this.reusable.add(b);
      else this.free.push(b);
    }
    this.tables.delete(sequence);
  }

  /** Frees the cache's key and value tensors; the cache must not be used again. */
  dispose(): void {
    for (const t of [...this.k, ...this.v]) this.backend.free(t);
  }
}
