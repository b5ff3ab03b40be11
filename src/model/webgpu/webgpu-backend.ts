import type { Backend, QuantizedMatrix, Tensor } from '../backend.ts';
import { dequantize } from '../ggml-quants.ts';
import { CodedError } from '../../util/coded-error.ts';
import { attentionOps } from './ops/attention.ts';
import { elementwiseOps } from './ops/elementwise.ts';
import { matmulOps } from './ops/matmul.ts';
import { normOps } from './ops/norms.ts';
import { samplingOps } from './ops/sampling.ts';
import { servingOps } from './ops/serving.ts';
import { trainingOps } from './ops/training.ts';
import { AdapterPool, type AdapterPoolOptions } from './adapter-pool.ts';
import { GpuTensor, tensorBytes, type Kernels } from './kernels.ts';

/** The device rejected a kernel or a command (invalid WGSL, a binding it does not allow, out of memory): raised at the next read. */
export class GpuDeviceError extends CodedError {
  override name = 'GpuDeviceError';
  constructor(message: string) {
    super('gpu_device_error', `the GPU device reported: ${message}`);
  }
}

const STORAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * The engine's WebGPU backend: tensors are storage buffers resident on the device; every operation
 * is a WGSL compute kernel recorded into a command encoder in call order; only `read` (and
 * `sumOfSquares`) waits for the device. The same `Backend` interface as the CPU backend, so the
 * model, the trainer and the serving decoder run on it unchanged.
 * LoRA factors that `loraRows` serves move into an {@link AdapterPool} (`options.adapterPool` sizes
 * its first buffer) so that one dispatch gathers every row's adapter.
 *
 * @example
 * const { device } = await requestGpuDevice();
 * const backend = createWebGpuBackend(device, 'NVIDIA H100');
 */
export function createWebGpuBackend(device: GPUDevice, description = 'webgpu', options: { adapterPool?: AdapterPoolOptions } = {}): Backend {
  let encoder: GPUCommandEncoder | null = null;
  let pendingDestroy: GPUBuffer[] = [];
  // each kernel's pipeline and the bindings its WGSL declares read_write
  const pipelines = new Map<string, { pipeline: GPUComputePipeline; writable: Set<number> }>();
  const gt = (t: Tensor) => t as GpuTensor;
  // WebGPU reports validation and memory errors asynchronously, never at the call: the first one is
  // kept and thrown by the next read, so a broken kernel cannot pass off zeros as a result
  let deviceError: GpuDeviceError | null = null;
  device.onuncapturederror = (e) => {
    deviceError ??= new GpuDeviceError(e.error.message);
  };

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

  const tensor = (length: number, dtype: 'f32' | 'i32') => new GpuTensor(length, dtype, device.createBuffer({ size: tensorBytes(length), usage: STORAGE() }));

  const kernels: Kernels = {
    device,
    dispatch(wgsl, params, buffers, groups) {
      let entry = pipelines.get(wgsl);
      if (!entry) {
        const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: wgsl }), entryPoint: 'main' } });
        const writable = new Set([...wgsl.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read_write>/g)].map((m) => Number(m[1])));
        pipelines.set(wgsl, (entry = { pipeline, writable }));
      }
      const { pipeline, writable } = entry;
      const bound = buffers.map(gt);
      // WebGPU forbids one buffer bound writable and read-only in the same dispatch, even over
      // disjoint ranges — two tensors of one adapter pool — so such a read-only input is read
      // from a copy taken just before
      const resources = bound.map((t, i) => {
        const clash = !writable.has(i + 1) && bound.some((w, j) => writable.has(j + 1) && w !== t && w.buffer === t.buffer);
        if (!clash) return t;
        const copy = gt(kernels.scratch(t.length));
        kernels.copyBuffer(t.buffer, t.offset, copy.buffer, 0, t.byteSize);
        return copy;
      });
      const uniform = device.createBuffer({ size: Math.max(16, Math.ceil((params.length * 4) / 16) * 16), usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      const view = new DataView(uniform.getMappedRange());
      params.forEach((p, i) => ('u32' in p ? view.setUint32(i * 4, p.u32, true) : 'i32' in p ? view.setInt32(i * 4, p.i32, true) : view.setFloat32(i * 4, p.f32, true)));
      uniform.unmap();
      pendingDestroy.push(uniform);
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [{ binding: 0, resource: { buffer: uniform } }, ...resources.map((t, i) => ({ binding: i + 1, resource: { buffer: t.buffer, offset: t.offset, size: t.byteSize } }))],
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
    copyBuffer(src, srcOffset, dst, dstOffset, size) {
      encoder ??= device.createCommandEncoder();
      encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    },
    destroyLater(buffer) {
      pendingDestroy.push(buffer);
    },
  };
  const pool = new AdapterPool(kernels, options.adapterPool);

  const read = async (t: Tensor): Promise<Float32Array> => {
    const size = t.length * 4;
    const staging = device.createBuffer({ size: tensorBytes(t.length), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    kernels.copyBuffer(gt(t).buffer, gt(t).offset, staging, 0, staging.size);
    flush();
    await staging.mapAsync(GPUMapMode.READ);
    if (deviceError) {
      staging.destroy();
      throw deviceError;
    }
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
      device.queue.writeBuffer(t.buffer, t.offset, data.buffer, data.byteOffset, data.byteLength);
      return t;
    },
    // Quantised weights are dequantised to f32 on upload: no WGSL kernel computes on ggml blocks yet,
    // so the GPU holds them at 4 bytes per weight (the CPU backend keeps the blocks).
    uploadQuantized(q: QuantizedMatrix) {
      return core.upload(dequantize(q.type, q.bytes, q.rows * q.cols));
    },
    write(t: Tensor, data: Float32Array | Int32Array, offset = 0) {
      if (offset + data.length > t.length) throw new RangeError(`writing ${data.length} values at ${offset} overruns a tensor of ${t.length}`);
      flush(); // after every recorded operation, as the interface's call order says
      device.queue.writeBuffer(gt(t).buffer, gt(t).offset + offset * 4, data.buffer, data.byteOffset, data.byteLength);
    },
    read,
    free(t: Tensor) {
      flush(); // the range or buffer may be reused or destroyed only once recorded work using it is submitted
      if (!pool.release(t)) pendingDestroy.push(gt(t).buffer);
    },
    async dispose() {
      flush();
      await device.queue.onSubmittedWorkDone();
      device.destroy();
    },
  };
  return { ...core, ...elementwiseOps(kernels), ...matmulOps(kernels), ...normOps(kernels), ...attentionOps(kernels), ...servingOps(kernels, pool), ...samplingOps(kernels), ...trainingOps(kernels, read) };
}
