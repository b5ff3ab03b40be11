/**
 * The backend's own behaviour beside its kernels: an error the device reports asynchronously (here
 * invalid WGSL) surfaces as a typed error at the next read instead of a buffer of zeros.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoGpuError, requestGpuDevice, type GpuDevice } from './gpu-device.ts';
import { createWebGpuBackend, GpuDeviceError } from './webgpu-backend.ts';

const opened: GpuDevice | string = await requestGpuDevice().catch((e: unknown) => {
  if (e instanceof NoGpuError) return `no WebGPU adapter: ${e.message}`;
  throw e;
});

test('a device error surfaces at the next read as GpuDeviceError', { skip: typeof opened === 'string' ? opened : false }, async () => {
  const { device, description } = opened as GpuDevice;
  const backend = createWebGpuBackend(device, description);
  const t = backend.upload(Float32Array.from([1, 2, 3]));
  assert.deepEqual(await backend.read(t), Float32Array.from([1, 2, 3]));
  device.createShaderModule({ code: 'fn main( {' }); // what a broken kernel would do
  await assert.rejects(backend.read(t), (e: unknown) => e instanceof GpuDeviceError && /WGSL/.test(e.message));
  await backend.dispose();
});
