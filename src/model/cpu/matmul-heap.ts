/**
 * The matmul heap: one shared WebAssembly memory per process that holds the CPU backend's
 * tensors, so that the WebAssembly kernels (on this thread and on every worker of the pool,
 * which share the same memory) read and write them in place, with no copies.
 * Arrays handed out by {@link allocShared} are views on it; {@link freeShared} gives a block back
 * (a FinalizationRegistry also gives back blocks whose array was garbage-collected).
 */

import { wasmApi } from './wasm-api.ts';
import type { WasmMemory } from './wasm-api.ts';

/** Bytes in a WebAssembly page. */
export const PAGE_BYTES = 65536;
/** The heap's maximum size in pages: the whole 32-bit address space (4 GiB). */
export const MAX_PAGES = 65536;
/** Every block starts on a 64-byte boundary (a cache line). */
const ALIGN = 64;

/** The heap cannot hold a new block (4 GiB of live blocks, or the system refused memory). */
export class HeapExhaustedError extends Error {
  override name = 'HeapExhaustedError';
}

/** The runtime has no WebAssembly (or no SIMD): the heap and the fast kernels are unavailable. */
export class WasmUnavailableError extends Error {
  override name = 'WasmUnavailableError';
}

/** `freeShared` was given an array that is not a live block of the heap. */
export class NotAHeapBlockError extends Error {
  override name = 'NotAHeapBlockError';
}

interface Block {
  offset: number;
  bytes: number;
}

/**
 * A first-fit allocator over a growable shared WebAssembly memory. Free blocks are kept sorted by
 * offset and merged with their neighbours; the top of the heap moves down when its last block is freed.
 *
 * @example
 * const heap = new SharedHeap();
 * const x = heap.alloc(1024); // Float32Array of 1024 zeros
 * heap.free(x);
 */
export class SharedHeap {
  readonly memory: WasmMemory;
  /** Every SharedArrayBuffer that `memory.buffer` has returned (one per size the memory had). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private current: SharedArrayBuffer;
  private top = ALIGN; // offset 0 stays unused, so no block starts at address 0
  private readonly freeList: Block[] = [];
  /** Live blocks: offset → size and the id of the allocation (so a stale release cannot free a reused block). */
  private readonly live = new Map<number, { bytes: number; id: number }>();
  /** Arrays handed out by `alloc` → their block. */
  private readonly handed = new WeakMap<Float32Array, { offset: number; id: number }>();
  private readonly registry = new FinalizationRegistry<{ offset: number; id: number }>((b) => this.release(b.offset, b.id));
  private nextId = 1;
  private liveBytes = 0;

  constructor(initialPages = 16) {
    if (!wasmApi) throw new WasmUnavailableError('this runtime has no WebAssembly');
    this.memory = new wasmApi.Memory({ initial: initialPages, maximum: MAX_PAGES, shared: true });
    this.current = this.memory.buffer as SharedArrayBuffer;
    this.buffers.add(this.current);
  }

  /** Bytes of live blocks. */
  get usedBytes(): number {
    return this.liveBytes;
  }

  /** The memory's current size in bytes. */
  get sizeBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Whether `array` is a view on this heap (so the kernels can address it). */
  contains(array: ArrayBufferView): boolean {
    return this.buffers.has(array.buffer);
  }

  /**
   * A new Float32Array of `length` zeros on the heap.
   *
   * @example
   * const a = heap.alloc(6); // Float32Array(6) [0, 0, 0, 0, 0, 0]
   */
  alloc(length: number): Float32Array {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`bad length ${length}`);
    const offset = this.allocBytes(length * 4);
    const array = new Float32Array(this.buffer(), offset, length);
    array.fill(0);
    const block = { offset, id: this.live.get(offset)!.id };
    this.handed.set(array, block);
    this.registry.register(array, block, array);
    return array;
  }

  /**
   * Gives `array`'s block back. The array (and every view on its memory) must not be used again.
   *
   * @example
   * heap.free(a);
   */
  free(array: Float32Array): void {
    const block = this.handed.get(array);
    if (!block || this.live.get(block.offset)?.id !== block.id) {
      throw new NotAHeapBlockError('freeShared: not an array from allocShared, or freed already (views and subarrays cannot be freed)');
    }
    this.handed.delete(array);
    this.registry.unregister(array);
    this.release(block.offset, block.id);
  }

  /** A block of `bytes` (rounded up to 64) for internal scratch; give it back with {@link freeBytes}. */
  allocBytes(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let offset = -1;
    for (let i = 0; i < this.freeList.length; i++) {
      const block = this.freeList[i]!;
      if (block.bytes < size) continue;
      offset = block.offset;
      if (block.bytes === size) this.freeList.splice(i, 1);
      else {
        block.offset += size;
        block.bytes -= size;
      }
      break;
    }
    if (offset < 0) {
      offset = this.top;
      this.ensure(offset + size);
      this.top = offset + size;
    }
    this.live.set(offset, { bytes: size, id: this.nextId++ });
    this.liveBytes += size;
    return offset;
  }

  /** Gives back a block from {@link allocBytes}. */
  freeBytes(offset: number): void {
    const block = this.live.get(offset);
    if (!block) throw new NotAHeapBlockError(`no live heap block at ${offset}`);
    this.release(offset, block.id);
  }

  /** The memory's SharedArrayBuffer at its current size. */
  buffer(): SharedArrayBuffer {
    const buffer = this.memory.buffer as SharedArrayBuffer;
    if (buffer !== this.current) {
      this.current = buffer;
      this.buffers.add(buffer);
    }
    return buffer;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > MAX_PAGES * PAGE_BYTES) {
      throw new HeapExhaustedError(`the matmul heap is limited to 4 GiB (${this.liveBytes} bytes live, ${end - this.top} more asked)`);
    }
    // Grow by at least a quarter of the current size, so a run of allocations grows it O(log) times.
    const needPages = Math.ceil((end - have) / PAGE_BYTES);
    const pages = Math.min(MAX_PAGES - have / PAGE_BYTES, Math.max(needPages, Math.ceil(have / PAGE_BYTES / 4)));
    try {
      this.memory.grow(pages);
    } catch (err) {
      throw new HeapExhaustedError(`could not grow the matmul heap to ${end} bytes: ${(err as Error).message}`);
    }
    this.buffer();
  }

  private release(offset: number, id: number): void {
    const entry = this.live.get(offset);
    if (entry === undefined || entry.id !== id) return;
    const bytes = entry.bytes;
    this.live.delete(offset);
    this.liveBytes -= bytes;
    // Insert sorted, merge with neighbours, and lower the top when the last block is free.
    let lo = 0, hi = this.freeList.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.freeList[mid]!.offset < offset) lo = mid + 1;
      else hi = mid;
    }
    const block: Block = { offset, bytes };
    this.freeList.splice(lo, 0, block);
    const next = this.freeList[lo + 1];
    if (next && block.offset + block.bytes === next.offset) {
      block.bytes += next.bytes;
      this.freeList.splice(lo + 1, 1);
    }
    const prev = this.freeList[lo - 1];
    if (prev && prev.offset + prev.bytes === block.offset) {
      prev.bytes += block.bytes;
      this.freeList.splice(lo, 1);
    }
    const last = this.freeList[this.freeList.length - 1];
    if (last && last.offset + last.bytes === this.top) {
      this.top = last.offset;
      this.freeList.pop();
    }
  }
}

let processHeap: SharedHeap | undefined;

/**
 * The process's heap (created on first use), which the matmul functions and the pool compute on.
 *
 * @example
 * const memory = sharedHeap().memory;
 */
export function sharedHeap(): SharedHeap {
  processHeap ??= new SharedHeap();
  return processHeap;
}

/**
 * A Float32Array of `length` zeros on the process's shared heap: matmuls on such arrays run in
 * place (no copies) and can be split across the pool's threads. Give it back with
 * {@link freeShared} when done (or drop every reference: it is reclaimed after garbage collection,
 * so keep the array itself alive while any view of its memory, e.g. a subarray, is in use).
 *
 * @example
 * const x = allocShared(512 * 512);
 */
export function allocShared(length: number): Float32Array {
  // Without WebAssembly only the JavaScript kernel runs: a plain shared buffer does.
  if (!wasmApi) return new Float32Array(new SharedArrayBuffer(length * 4));
  return sharedHeap().alloc(length);
}

/**
 * Gives back an array from {@link allocShared}; it must not be used afterwards.
 *
 * @example
 * freeShared(x);
 */
export function freeShared(array: Float32Array): void {
  if (!wasmApi) return;
  sharedHeap().free(array);
}

/**
 * Whether `array` lives on the process's shared heap (from {@link allocShared} or a view of one).
 *
 * @example
 * isShared(allocShared(4)); // true
 * isShared(new Float32Array(4)); // false
 */
export function isShared(array: ArrayBufferView): boolean {
  return processHeap !== undefined && processHeap.contains(array);
}
