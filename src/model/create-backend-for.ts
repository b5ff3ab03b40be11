import type { Backend } from './backend.ts';
import { createBackend } from './create-backend.ts';
import { NoGpuError, requestGpuDevice } from './webgpu/gpu-device.ts';
import { createWebGpuBackend } from './webgpu/webgpu-backend.ts';

/** Which backend the engine uses: `auto` takes a hardware GPU when there is one, else the CPU. */
export type BackendChoice = 'auto' | 'cpu' | 'webgpu';

/**
 * The engine's backend as configured (`OPENLEDGER_BACKEND`): `cpu`; `webgpu` (fails, saying why,
 * without an adapter — a software one such as lavapipe is accepted, for tests); `auto` (default)
 * the WebGPU backend on a hardware GPU, else the CPU backend.
 *
 * @example
 * const backend = await createBackendFor('auto', { threads: 2 });
 */
export async function createBackendFor(choice: BackendChoice, o: { threads?: number; log?: (line: string) => void } = {}): Promise<Backend> {
  const cpu = () => createBackend(o.threads ? { threads: o.threads } : {});
  if (choice === 'cpu') return cpu();
  try {
    const gpu = await requestGpuDevice();
    if (choice === 'auto' && gpu.software) {
      gpu.device.destroy();
      o.log?.(`engine: ${gpu.description} is a software adapter; using the CPU backend (OPENLEDGER_BACKEND=webgpu forces it)`);
      return cpu();
    }
    return createWebGpuBackend(gpu.device, gpu.description);
  } catch (e) {
    if (choice === 'webgpu' || !(e instanceof NoGpuError)) throw e;
    return cpu();
  }
}
