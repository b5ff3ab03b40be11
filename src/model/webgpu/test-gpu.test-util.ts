import { after } from 'node:test';
import type { Backend, Tensor } from '../backend.ts';
import { referenceBackend } from '../test-models.test-util.ts';
import { NoGpuError, requestGpuDevice } from './gpu-device.ts';
import { createWebGpuBackend } from './webgpu-backend.ts';

let opened: Promise<Backend | string> | undefined;

/**
 * The WebGPU backend for kernel tests (one device per test file), or why there is none: tests
 * pass the string as `skip`. On CPU-only machines Mesa ≥ 25's lavapipe provides the adapter
 * (scripts/install-test-deps.sh installs it from bookworm-backports).
 *
 * @example
 * const gpu = await gpuBackendOrReason();
 * test('…', { skip: typeof gpu === 'string' ? gpu : false }, async () => { … });
 */
export function gpuBackendOrReason(): Promise<Backend | string> {
  opened ??= requestGpuDevice().then(
    ({ device, description }) => createWebGpuBackend(device, description),
    (e: unknown) => (e instanceof NoGpuError ? `no WebGPU adapter: ${e.message}` : Promise.reject(e)),
  );
  return opened;
}

/**
 * A test file's WebGPU backend, disposed after its tests: `gpu` (or why there is none), `skip` for
 * the tests' options (the reason, or false), and `backend()`, which throws the reason if used
 * without one.
 *
 * @example
 * const { skip, backend } = await openTestGpu();
 * test('…', { skip }, async () => { const be = backend(); … });
 */
export async function openTestGpu(): Promise<{ gpu: Backend | string; skip: string | false; backend: () => Backend }> {
  const gpu = await gpuBackendOrReason();
  after(async () => {
    if (typeof gpu !== 'string') await gpu.dispose();
  });
  const backend = (): Backend => {
    if (typeof gpu === 'string') throw new Error(gpu);
    return gpu;
  };
  return { gpu, skip: typeof gpu === 'string' ? gpu : false, backend };
}

/** The CPU reference backend the GPU kernels are checked against. */
export const cpu = referenceBackend;

/** Seeded uniform values in [-scale, scale). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return ((s / 2 ** 32) * 2 - 1) * scale;
  });
}

/**
 * Uploads the same inputs to both backends, runs `op` on each and returns both results of the
 * tensors named in `outputs`, for comparison.
 *
 * @example
 * const [g, c] = await onBoth(gpu, { x: randomArray(64, 1), out: new Float32Array(64) }, (be, t) => be.scale(t.x!, 2), ['x']);
 */
export async function onBoth(gpu: Backend, inputs: Record<string, Float32Array | Int32Array>, op: (be: Backend, t: Record<string, Tensor>) => void | Promise<void>, outputs: readonly string[]): Promise<[Record<string, Float32Array>, Record<string, Float32Array>]> {
  const results: Array<Record<string, Float32Array>> = [];
  for (const be of [gpu, cpu()]) {
    const t = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, be.upload(v)]));
    await op(be, t);
    results.push(Object.fromEntries(await Promise.all(outputs.map(async (k) => [k, await be.read(t[k]!)] as const))));
    for (const x of Object.values(t)) be.free(x);
  }
  return [results[0]!, results[1]!];
}

/** Largest |a − b| relative to the largest |b| (or 1). */
export function maxRelativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let scale = 1, worst = 0;
  for (const x of b) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / scale);
  return worst;
}
