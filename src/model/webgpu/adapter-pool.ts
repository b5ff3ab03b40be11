import type { Tensor } from '../backend.ts';
import { GpuTensor, type Kernels } from './kernels.ts';

const MIB = 1024 * 1024;
/** The first pool's size: a few adapters of a small model; later pools double from it. */
const FIRST_POOL_BYTES = 4 * MIB;

/** A free byte range of a pool. */
interface Range {
  offset: number;
  size: number;
}

/**
 * One large device buffer and its free ranges, sorted by offset and never adjacent (giving a
 * range back coalesces it with its neighbours), allocated first-fit.
 */
class Pool {
  /** The whole buffer as one tensor, for kernels that gather from any range of it. */
  readonly whole: GpuTensor;
  readonly buffer: GPUBuffer;
  readonly size: number;
  private readonly free: Range[];
  constructor(buffer: GPUBuffer, size: number) {
    this.buffer = buffer;
    this.size = size;
    this.whole = new GpuTensor(size / 4, 'f32', buffer);
    this.free = [{ offset: 0, size }];
  }

  /** The offset of `size` bytes taken from the lowest free range that holds them, or null. */
  take(size: number): number | null {
    const i = this.free.findIndex((r) => r.size >= size);
    if (i < 0) return null;
    const r = this.free[i]!;
    const offset = r.offset;
    if (r.size === size) this.free.splice(i, 1);
    else this.free[i] = { offset: offset + size, size: r.size - size };
    return offset;
  }

  give(offset: number, size: number): void {
    let i = this.free.findIndex((r) => r.offset > offset);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, { offset, size });
    const next = this.free[i + 1];
    if (next && offset + size === next.offset) this.free.splice(i, 2, { offset, size: size + next.size });
    const prev = this.free[i - 1];
    const cur = this.free[i]!;
    if (prev && prev.offset + prev.size === cur.offset) this.free.splice(i - 1, 2, { offset: prev.offset, size: prev.size + cur.size });
  }
}

/** What the pool holds (for tests and diagnostics). */
export interface AdapterPoolStats {
  /** Device buffers opened. */
  pools: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Bytes taken by adopted tensors (each rounded up to the offset alignment). */
  usedBytes: number;
  /** Tensors living in the pools. */
  tensors: number;
}

export interface AdapterPoolOptions {
  /** Size of the first pool (default 4 MiB); each later one doubles, up to the device's binding limit. */
  firstPoolBytes?: number;
}

/**
 * Sub-allocation of tensors inside a few large device buffers, so that one kernel can gather every
 * serving row's LoRA factors by offset from a single binding (WebGPU has no bindless buffers).
 * `adopt` moves a standalone tensor into a pool range with a device-side copy recorded in order,
 * destroys its old buffer after the next submit, and re-points the tensor; every other op keeps
 * working on it through its offset. A pool never grows or moves (recorded commands stay bound to
 * it): when none has room, a new one opens, twice the size of the last, bounded by
 * `maxStorageBufferBindingSize`. Ranges start at multiples of `minStorageBufferOffsetAlignment`,
 * as storage bindings at an offset require.
 *
 * @example
 * const pool = new AdapterPool(kernels);
 * pool.adoptTogether([lora.a, lora.b]); // same pool when any pool (or a fresh one) holds both
 * pool.poolOf(lora.a)!.whole            // bind this, index by lora.a.offset / 4
 * pool.release(lora.a);                 // from the backend's free
 */
export class AdapterPool {
  private readonly pools: Pool[] = [];
  private readonly slots = new Map<GpuTensor, { pool: Pool; size: number }>();
  private readonly alignment: number;
  private readonly limit: number;
  private readonly firstBytes: number;
  private readonly k: Kernels;

  constructor(k: Kernels, options: AdapterPoolOptions = {}) {
    this.k = k;
    const limits = k.device.limits;
    this.alignment = limits.minStorageBufferOffsetAlignment;
    this.limit = Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / this.alignment) * this.alignment;
    this.firstBytes = Math.min(this.limit, this.aligned(options.firstPoolBytes ?? FIRST_POOL_BYTES));
  }

  /** Moves `t` into a pool (no-op when it is already in one). */
  adopt(t: Tensor): void {
    this.adoptTogether([t]);
  }

  /**
   * Moves the tensors not yet pooled into one pool: the pool already holding one of `ts` when the
   * rest fit there, else the first pool with room for all of them, else a fresh pool.
   */
  adoptTogether(ts: readonly Tensor[]): void {
    const all = [...new Set(ts as readonly GpuTensor[])];
    const loose = all.filter((t) => !this.slots.has(t));
    if (loose.length === 0) return;
    const home = all.map((t) => this.slots.get(t)?.pool).find((p) => p);
    const candidates = home ? [home, ...this.pools.filter((p) => p !== home)] : this.pools;
    for (const pool of candidates) if (this.placeAll(pool, loose)) return;
    const need = loose.reduce((s, t) => s + this.aligned(t.byteSize), 0);
    if (!this.placeAll(this.open(need), loose)) throw new Error('adapter pool: a fresh pool could not hold what it was sized for');
  }

  /** The pool `t` lives in, or undefined for a standalone tensor. */
  poolOf(t: Tensor): { whole: GpuTensor } | undefined {
    return this.slots.get(t as GpuTensor)?.pool;
  }

  /** Returns `t`'s range to its pool; false when `t` is not pooled (the caller frees its buffer). */
  release(t: Tensor): boolean {
    const slot = this.slots.get(t as GpuTensor);
    if (!slot) return false;
    slot.pool.give((t as GpuTensor).offset, slot.size);
    this.slots.delete(t as GpuTensor);
    return true;
  }

  stats(): AdapterPoolStats {
    let usedBytes = 0;
    for (const s of this.slots.values()) usedBytes += s.size;
    return { pools: this.pools.length, bytes: this.pools.reduce((s, p) => s + p.size, 0), usedBytes, tensors: this.slots.size };
  }

  private aligned(bytes: number): number {
    return Math.ceil(bytes / this.alignment) * this.alignment;
  }

  /** All of `ts` into `pool`, or none (ranges taken so far are given back) and false. */
  private placeAll(pool: Pool, ts: readonly GpuTensor[]): boolean {
    const offsets: number[] = [];
    for (const t of ts) {
      const offset = pool.take(this.aligned(t.byteSize));
      if (offset === null) {
        offsets.forEach((o, i) => pool.give(o, this.aligned(ts[i]!.byteSize)));
        return false;
      }
      offsets.push(offset);
    }
    ts.forEach((t, i) => this.move(t, pool, offsets[i]!));
    return true;
  }

  private move(t: GpuTensor, pool: Pool, offset: number): void {
    // recorded after every command that wrote t, before any that reads it at its new place
    this.k.copyBuffer(t.buffer, t.offset, pool.buffer, offset, t.byteSize);
    this.k.destroyLater(t.buffer);
    t.buffer = pool.buffer;
    t.offset = offset;
    this.slots.set(t, { pool, size: this.aligned(t.byteSize) });
  }

  /** A new pool of at least `need` bytes: the first pool's size doubled once per pool already open. */
  private open(need: number): Pool {
    if (need > this.limit) throw new RangeError(`adapter pool: ${need} bytes exceed the device's storage binding limit of ${this.limit}`);
    const size = Math.max(need, Math.min(this.limit, this.firstBytes * 2 ** this.pools.length));
    const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const pool = new Pool(this.k.device.createBuffer({ size, usage: STORAGE }), size);
    this.pools.push(pool);
    return pool;
  }
}
