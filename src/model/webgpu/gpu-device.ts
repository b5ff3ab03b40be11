/** No WebGPU adapter could be created here (no GPU, no Vulkan driver, or the `webgpu` package missing). */
export class NoGpuError extends Error {
  override name = 'NoGpuError';
}

/** A WebGPU device and what it runs on. */
export interface GpuDevice {
  device: GPUDevice;
  /** e.g. "nvidia … H100" or "mesa software llvmpipe" (lavapipe). */
  description: string;
  /** Whether it is a software rasteriser (lavapipe): correct, slow. */
  software: boolean;
}

let globalsInstalled = false;
/** Dawn lives only while its GPU instance is referenced: one per open device, dropped when the device is lost or destroyed (so Node can exit). */
const liveInstances = new Set<GPU>();

/**
 * Opens the high-performance WebGPU adapter through the npm `webgpu` package (Dawn over Vulkan:
 * an NVIDIA driver, or Mesa's lavapipe on CPU-only machines). Throws {@link NoGpuError} saying why
 * when there is none.
 *
 * @example
 * const { device, description } = await requestGpuDevice();
 */
export async function requestGpuDevice(): Promise<GpuDevice> {
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (e) {
    throw new NoGpuError(`the webgpu package could not be loaded (${(e as Error).message.split('\n')[0]})`);
  }
  if (!globalsInstalled) {
    Object.assign(globalThis, webgpu.globals); // GPUBufferUsage, GPUMapMode, GPUShaderStage…
    globalsInstalled = true;
  }
  const gpu = webgpu.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new NoGpuError('no WebGPU adapter: no GPU with a Vulkan driver, and no Mesa ≥ 25 lavapipe (see ../shared/GPU.md)');
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(limits.maxStorageBuffersPerShaderStage, 10),
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    },
  });
  liveInstances.add(gpu);
  void device.lost.then(() => liveInstances.delete(gpu));
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  return { device, description, software: /llvmpipe|lavapipe|swiftshader/i.test(description) };
}
