import type { Backend, Tensor } from '../backend.ts';
import { attentionOps } from './ops/attention.ts';
import { elementwiseOps } from './ops/elementwise.ts';
import { matmulOps } from './ops/matmul.ts';
import { normOps } from './ops/norms.ts';
import { servingOps } from './ops/serving.ts';
import { trainingOps } from './ops/training.ts';
import { GpuTensor, type Kernels, type Param } from './kernels.ts';

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * The engine's WebGPU backend: tensors are storage buffers resident on the device; every operation
 * is a WGSL compute kernel recorded into a command encoder in call order; only `read` (and
 * `sumOfSquares`) waits for the device. The same `Backend` interface as the CPU backend, so the
 * model, the trainer and the serving decoder run on it unchanged.
 *
 * @example
 * const { device } = await requestGpuDevice();
 * const backend = createWebGpuBackend(device, 'NVIDIA H100');
 */
export function createWebGpuBackend(device: GPUDevice, description = 'webgpu'): Backend {
  let encoder: GPUCommandEncoder | null = null;
  let pendingDestroy: GPUBuffer[] = [];
  const pipelines = new Map<string, GPUComputePipeline>();
  const buf = (t: Tensor) => (t as GpuTensor).buffer;

  const flush = () => {
    if (encoder) {
      device.queue.submit([encoder.finish()]);
      encoder = null;
    }
    // WebGPU defers a destroyed buffer's release until the submitted work using it is done, so
    // scratch and freed buffers go at once (no callback left pending when a worker thread ends)
    for (const b of pendingDestroy) b.destroy();
    pendingDestroy = [];
  };

  const tensor = (length: number, dtype: 'f32' | 'i32') => new GpuTensor(length, dtype, device.createBuffer({ size: Math.max(16, Math.ceil((length * 4) / 16) * 16), usage: STORAGE() }));

  const kernels: Kernels = {
    device,
    dispatch(wgsl, params, buffers, groups) {
      let pipeline = pipelines.get(wgsl);
      if (!pipeline) {
        pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: wgsl }), entryPoint: 'main' } });
        pipelines.set(wgsl, pipeline);
      }
      const uniform = device.createBuffer({ size: Math.max(16, Math.ceil((params.length * 4) / 16) * 16), usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      const view = new DataView(uniform.getMappedRange());
      params.forEach((p, i) => ('u32' in p ? view.setUint32(i * 4, p.u32, true) : 'i32' in p ? view.setInt32(i * 4, p.i32, true) : view.setFloat32(i * 4, p.f32, true)));
      uniform.unmap();
      pendingDestroy.push(uniform);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: uniform } }, ...buffers.map((t, i) => ({ binding: i + 1, resource: { buffer: buf(t) } }))],
      });
      encoder ??= device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
      pass.end();
    },
    scratch(length) {
      const t = tensor(length, 'f32');
      pendingDestroy.push(t.buffer);
      return t;
    },
  };

  const read = async (t: Tensor): Promise<Float32Array> => {
    const size = t.length * 4;
    const staging = device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    encoder ??= device.createCommandEncoder();
    encoder.copyBufferToBuffer(buf(t), 0, staging, 0, staging.size);
    flush();
    await staging.mapAsync(GPUMapMode.READ);
    const out = t.dtype === 'f32' ? new Float32Array(staging.getMappedRange(0, staging.size).slice(0, size)) : Float32Array.from(new Int32Array(staging.getMappedRange(0, staging.size).slice(0, size)));
    staging.unmap();
    staging.destroy();
    return out;
  };

  const core = {
    name: `webgpu (${description})`,
    zeros: (length: number) => tensor(length, 'f32'), // buffers are zero-initialised
    upload(data: Float32Array | Int32Array) {
      const t = tensor(data.length, data instanceof Int32Array ? 'i32' : 'f32');
      flush();
      device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      return t;
    },
    write(t: Tensor, data: Float32Array | Int32Array, offset = 0) {
      if (offset + data.length > t.length) throw new RangeError(`writing ${data.length} values at ${offset} overruns a tensor of ${t.length}`);
      flush(); // after every recorded operation, as the interface's call order says
      device.queue.writeBuffer(buf(t), offset * 4, data.buffer, data.byteOffset, data.byteLength);
    },
    read,
    free(t: Tensor) {
      flush();
      pendingDestroy.push(buf(t));
    },
    async dispose() {
      flush();
      await device.queue.onSubmittedWorkDone();
      device.destroy();
    },
  };
  return { ...core, ...elementwiseOps(kernels), ...matmulOps(kernels), ...normOps(kernels), ...attentionOps(kernels), ...servingOps(kernels), ...trainingOps(kernels, read) };
}
