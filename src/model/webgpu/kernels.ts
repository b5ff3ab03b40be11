import type { Tensor } from '../backend.ts';

/**
 * A tensor of the WebGPU backend: `length` elements from byte `offset` of a storage buffer. A
 * standalone tensor owns its buffer (offset 0); the adapter pool re-points a LoRA factor into a
 * range of one of its large buffers, so `buffer` and `offset` may change over the tensor's life
 * (commands already recorded keep the buffer they were bound to).
 *
 * @example
 * const t = new GpuTensor(16, 'f32', device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE }));
 * const resource = { buffer: t.buffer, offset: t.offset, size: t.byteSize }; // how a kernel binds it
 */
export class GpuTensor implements Tensor {
  readonly length: number;
  readonly dtype: 'f32' | 'i32';
  buffer: GPUBuffer;
  /** Byte offset of element 0 in `buffer`: 0 standalone, a multiple of the device's storage offset alignment in a pool. */
  offset: number;
  constructor(length: number, dtype: 'f32' | 'i32', buffer: GPUBuffer, offset = 0) {
    this.length = length;
    this.dtype = dtype;
    this.buffer = buffer;
    this.offset = offset;
  }
  /** The bytes it spans when bound or copied: its 4-byte elements rounded up to 16, at least 16 (a standalone buffer's size). */
  get byteSize(): number {
    return tensorBytes(this.length);
  }
}

/**
 * Bytes a tensor of `length` 4-byte elements occupies on the device: rounded up to 16 (buffer
 * sizes and copies want multiples of 4, uniform-style padding keeps vec4 reads in bounds), at least
 * 16 (WebGPU rejects empty bindings).
 *
 * @example
 * tensorBytes(5) // 32
 */
export function tensorBytes(length: number): number {
  return Math.max(16, Math.ceil((length * 4) / 16) * 16);
}

/** A uniform parameter of a kernel: a u32, an i32 or an f32 (4 bytes each, in struct order). */
export type Param = { u32: number } | { i32: number } | { f32: number };

/**
 * What the op files use to run WGSL: every kernel declares `@group(0) @binding(0) var<uniform> p:
 * Params;` (its scalars, in the order given) and its storage buffers at bindings 1, 2, … in the
 * order passed, each bound as its tensor's range `{ buffer, offset, size: byteSize }`. Dispatches
 * (and copies) are recorded in order into one command encoder and submitted when something must be
 * observed (`read`, `write`, `free`).
 */
export interface Kernels {
  readonly device: GPUDevice;
  /** Runs `wgsl` (entry point `main`) over `groups` workgroups. */
  dispatch(wgsl: string, params: readonly Param[], buffers: readonly Tensor[], groups: readonly [number, number?, number?]): void;
  /** A scratch f32 tensor, freed after the next submit. */
  scratch(length: number): Tensor;
  /** Records a device-side copy of `size` bytes in order with the dispatches (no host round-trip). */
  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void;
  /** Destroys `buffer` after the next submit (WebGPU lets recorded commands that use it finish first). */
  destroyLater(buffer: GPUBuffer): void;
}

/**
 * A scratch tensor holding `values` (a kernel's row table or per-row parameters), written through
 * the queue: queue writes land before the pending commands are submitted, and no earlier command
 * touches a fresh scratch buffer. Freed with the scratch after the next submit.
 *
 * @example
 * const rows = scratchHolding(k, Int32Array.from([0, 3, 5]));
 */
export function scratchHolding(k: Kernels, values: Float32Array | Int32Array): Tensor {
  const t = k.scratch(values.length) as GpuTensor;
  k.device.queue.writeBuffer(t.buffer, t.offset, values.buffer, values.byteOffset, values.byteLength);
  return t;
}

/**
 * WGSL for `fn <name>(lid: u32, value: <type>) -> <type>`: the sum of `value` over a workgroup of
 * `threads` (a power of two) by a fixed-order tree in workgroup memory — deterministic, no atomics
 * — returned to every thread as a uniform value (so it may steer loops that hold barriers). Every
 * thread must call it, in uniform control flow. Declares its own workgroup variables.
 *
 * @example
 * const KERNEL = `${workgroupSum('rowSum', 'f32', 256)} … let total = rowSum(lid, partial); …`;
 */
export function workgroupSum(name: string, type: 'f32' | 'u32', threads: number): string {
  return /* wgsl */ `
var<workgroup> ${name}Parts: array<${type}, ${threads}>;
var<workgroup> ${name}Total: ${type};
fn ${name}(lid: u32, value: ${type}) -> ${type} {
  ${name}Parts[lid] = value;
  workgroupBarrier();
  for (var stride = ${threads / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { ${name}Parts[lid] += ${name}Parts[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) { ${name}Total = ${name}Parts[0]; }
  return workgroupUniformLoad(&${name}Total);
}`;
}

const WORKGROUP_LIMIT = 65_535;

/** Workgroups for `n` invocations of `size` threads, as a 2-D grid when they exceed one dimension's limit. */
export function groupsFor(n: number, size = 64): [number, number] {
  const groups = Math.max(1, Math.ceil(n / size));
  if (groups <= WORKGROUP_LIMIT) return [groups, 1];
  return [WORKGROUP_LIMIT, Math.ceil(groups / WORKGROUP_LIMIT)];
}

/** WGSL that turns a 2-D dispatch of `size`-thread workgroups back into a linear invocation index. */
export const linearIndex = (size = 64) => `(gid.y * ${WORKGROUP_LIMIT}u * ${size}u + gid.x)`;
