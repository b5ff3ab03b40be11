/**
 * A ModelFactory job trained on the WebGPU backend (in its worker thread, on its own device) ends
 * like the same job on the CPU: it succeeds, publishes, and its held-out loss matches. Runs on
 * lavapipe where there is no GPU; skips, saying why, without any adapter.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gpuBackendOrReason } from '../model/webgpu/test-gpu.test-util.ts';
import { createFactoryWorker } from './factory-worker.ts';
import { createTrainingJob, getTrainingJob } from './jobs.ts';
import { BUILDER, startFactoryTestContext, type FactoryTestContext } from './test-context.ts';

const gpu = await gpuBackendOrReason();
let f: FactoryTestContext;
before(async () => {
  f = await startFactoryTestContext();
});
after(async () => {
  if (typeof gpu !== 'string') await gpu.dispose();
  await f?.stop();
});

test('a fine-tuning job on the WebGPU backend ends like the same job on the CPU', { skip: typeof gpu === 'string' ? gpu : false, timeout: 600_000 }, async () => {
  const hyperparameters = { epochs: 1, batchSize: 8, learningRate: 2e-2, sketchDimension: 16, rank: 2, alpha: 4, maxSequenceLength: 64 };
  const run = async (name: string, backend: 'cpu' | 'webgpu') => {
    const job = await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: name, baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: '0', hyperparameters });
    await createFactoryWorker({ ...f.ctx, backend }).drain();
    return getTrainingJob(f.db, job.id);
  };
  const onCpu = await run('cpu-qa', 'cpu');
  const onGpu = await run('gpu-qa', 'webgpu');
  assert.equal(onGpu.status, 'succeeded', onGpu.error ?? '');
  assert.ok(onGpu.modelId, 'published');
  const loss = (j: typeof onCpu) => j.evaluation!.tuned.loss;
  assert.ok(Math.abs(loss(onGpu) - loss(onCpu)) < 1e-2 * loss(onCpu), `held-out loss GPU ${loss(onGpu)} vs CPU ${loss(onCpu)}`);
});
