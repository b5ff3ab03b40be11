import type { Tensor } from '../backend.ts';

/** A tensor of the WebGPU backend: a storage buffer on the device. */
export class GpuTensor implements Tensor {
  readonly length: number;
  readonly dtype: 'f32' | 'i32';
  readonly buffer: GPUBuffer;
  constructor(length: number, dtype: 'f32' | 'i32', buffer: GPUBuffer) {
    this.length = length;
    this.dtype = dtype;
    this.buffer = buffer;
  }
}

/** A uniform parameter of a kernel: a u32, an i32 or an f32 (4 bytes each, in struct order). */
export type Param = { u32: number } | { i32: number } | { f32: number };

/**
 * What the op files use to run WGSL: every kernel declares `@group(0) @binding(0) var<uniform> p:
 * Params;` (its scalars, in the order given) and its storage buffers at bindings 1, 2, … in the
 * order passed. Dispatches are recorded in order into one command encoder and submitted when
 * something must be observed (`read`, `write`, `free`).
 */
export interface Kernels {
  readonly device: GPUDevice;
  /** Runs `wgsl` (entry point `main`) over `groups` workgroups. */
  dispatch(wgsl: string, params: readonly Param[], buffers: readonly Tensor[], groups: readonly [number, number?, number?]): void;
  /** A scratch f32 tensor, freed after the next submit. */
  scratch(length: number): Tensor;
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
