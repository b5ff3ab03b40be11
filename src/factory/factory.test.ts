import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { keccak256, parseEther, stringToBytes, type Address, type Hex } from 'viem';
import type { TestProtocol } from '../chain/test-chain.ts';
import { addBaseModel } from './base-models.ts';
import type { Snapshot } from '../datanet/datanet-types.ts';
import { parsePeftAdapter } from '../model/peft.ts';
import { exportBaseGguf } from '../model/export-gguf.ts';
import { readModelDir } from '../model/model-dir.ts';
import { writeTinyBaseModel } from '../model/tiny-base-model.test-util.ts';
import type { Database } from '../store/database.ts';
import type { BaseModel } from './factory-types.ts';
import { BUILDER, OWNER, startFactoryTestContext } from './test-context.ts';
import { createFactoryWorker, type FactoryContext } from './factory-worker.ts';
import { cancelTrainingJob, createTrainingJob, getTrainingJob, jobProgress, MAX_ACTIVE_JOBS_PER_OWNER, type JobRequest } from './jobs.ts';
import { traceFiles } from './training-trace.ts';

let db: Database;
let ctx: FactoryContext;
let stop: () => Promise<void>;
let base: BaseModel;
let snapshot: Snapshot;
let addr: (i: number) => Address;
let t: TestProtocol;
let dir: string;

const hyperparameters = { epochs: 3, batchSize: 8, learningRate: 1e-2, checkpointEvery: 2, sketchDimension: 64, rank: 4, alpha: 8 };
const request = (modelName: string, extra: Partial<JobRequest> = {}): JobRequest => ({
  modelName, baseModel: 'tiny', snapshotIds: [snapshot.id], hyperparameters, pricePer1kTokens: '1000', ...extra,
});

before(async () => {
  ({ db, ctx, stop, base, snapshot, addr, t, dir } = await startFactoryTestContext());
});

after(() => stop?.());

describe('ModelFactory', () => {
  test('refuses jobs it cannot run, with the reason', async () => {
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('x', { baseModel: 'nope' })), { code: 'not_found' });
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('x', { snapshotIds: [999] })), { code: 'not_found' });
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('bad name!')), /model name/);
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('x', { hyperparameters: { rank: 0 } })), /rank|too small/i);
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('x', { hyperparameters: { learningRat: 1 } as never })), /learningRat|unrecognized/i);
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('x', { pricePer1kTokens: '9'.repeat(78) })), /2\^256 - 1 wei/);
    // one account cannot fill the queue
    const queued = [];
    for (let i = 0; i < MAX_ACTIVE_JOBS_PER_OWNER; i++) queued.push(await createTrainingJob(ctx, addr(OWNER), request(`filler-${i}`)));
    await assert.rejects(createTrainingJob(ctx, addr(OWNER), request('one-too-many')), (e: Error & { code?: string }) => e.code === 'too_many_jobs');
    for (const job of queued) await cancelTrainingJob(db, job.id, addr(OWNER));
  });

  let first: string;
  test('trains, evaluates and publishes an adapter with its provenance on chain', async () => {
    const job = await createTrainingJob(ctx, addr(BUILDER), request('zorvania-qa'));
    first = job.id;
    assert.equal(job.status, 'queued');
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('zorvania-qa')), { code: 'name_taken' });
    await createFactoryWorker(ctx).drain();

    const done = await getTrainingJob(db, job.id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    assert.ok(done.examples!.train > 0 && done.examples!.heldOut > 0);
    assert.equal(done.step, done.totalSteps);
    const ev = done.evaluation!;
    assert.ok(ev.tuned.loss < ev.base.loss, `held-out loss: base ${ev.base.loss}, tuned ${ev.tuned.loss}`);
    const curve = await jobProgress(db, job.id);
    assert.equal(curve.length, done.totalSteps);
    assert.ok(curve.at(-1)!.loss < curve[0]!.loss);

    // on chain: owned by the builder, with base, adapter, config hashes and the snapshot root
    const modelId = BigInt(done.modelId!);
    const model = await ctx.contracts.modelRegistry.read.getModel([modelId]);
    assert.equal(model.owner, addr(BUILDER));
    assert.equal(model.pricePer1kTokens, 1000n);
    const version = await ctx.contracts.modelRegistry.read.getVersion([modelId, 1n]);
    assert.equal(version.baseModelHash, base.id);
    assert.equal(version.adapterHash, done.adapterHash);
    assert.equal(version.trainingConfigHash, done.configHash);
    assert.deepEqual(version.snapshotRoots, [snapshot.root]);

    // the blobs: a PEFT adapter whose hash is the registered one, and the attribution trace
    const weights = await ctx.blobs.get(done.adapterBlob!);
    const adapter = parsePeftAdapter({ 'adapter_config.json': await ctx.blobs.get(done.adapterConfigBlob!), 'adapter_model.safetensors': weights });
    assert.equal(adapter.config.r, 4);
    assert.equal(adapter.config.baseModel, base.id);
    const trace = JSON.parse(Buffer.from(await ctx.blobs.get(done.traceBlob!)).toString()) as { version: number; files: Record<string, Hex>; manifest: { version: number; gradients: { dimension: number; blockDimensions: number[]; parameterBlocks: number[] } } };
    assert.equal(trace.version, 2);
    const examples = JSON.parse(Buffer.from(await ctx.blobs.get(trace.files['examples.json']!)).toString()).examples as Array<{ contributionId: Hex; heldOut: boolean; order: number }>;
    assert.equal(examples.length, snapshot.count);
    assert.deepEqual(examples.map((e) => e.order).sort((a, b) => a - b), examples.map((_, i) => i), 'every example has its arrival rank');
    const { gradients: info } = trace.manifest;
    assert.equal(info.dimension, 64);
    assert.deepEqual(info.blockDimensions, [32, 32], 'one block per layer of the 2-layer base');
    assert.deepEqual([...new Set(info.parameterBlocks)], [0, 1]);
    const gradients = new Float32Array((await ctx.blobs.get(trace.files['gradients.f32']!)).slice().buffer);
    assert.equal(gradients.length, examples.length * 64);
    examples.forEach((e, i) => {
      const norm = gradients.subarray(i * 64, (i + 1) * 64).reduce((s, x) => s + x * x, 0);
      assert.equal(norm > 0, !e.heldOut, `example ${i} (held out: ${e.heldOut}) gradient norm ${norm}`);
    });
    // the evaluation: held-out loss, answer accuracy, and the values the job trained with
    assert.ok(done.evaluation!.answers!.trained.checked > 0 && done.evaluation!.answers!.heldOut.checked === done.examples!.heldOut);
    assert.equal(done.evaluation!.hyperparameters!.epochs, 3);
    const metadata = JSON.parse(Buffer.from(await ctx.blobs.get(done.metadataBlob!)).toString());
    assert.equal(metadata.trainingConfigHash, done.configHash);
    assert.equal(model.metadataURI, `openledger://blob/${done.metadataBlob}`);
  });

  test('a job stopped mid-way resumes from its checkpoint and ends with the same adapter', async () => {
    const job = await createTrainingJob(ctx, addr(BUILDER), request('zorvania-qa-resumed'));
    const worker = createFactoryWorker(ctx);
    worker.start();
    for (let i = 0; i < 600 && (await getTrainingJob(db, job.id)).step < 3; i++) await new Promise((r) => setTimeout(r, 50));
    await worker.stop();
    const stopped = await getTrainingJob(db, job.id);
    assert.equal(stopped.status, 'training');
    assert.ok(stopped.step >= 3 && stopped.step < stopped.totalSteps!, `stopped at step ${stopped.step} of ${stopped.totalSteps}`);
    await readFile(join(ctx.jobsDir, job.id, 'checkpoint.safetensors'));

    await createFactoryWorker(ctx).drain();
    const done = await getTrainingJob(db, job.id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    assert.equal(done.attempts, 2);
    assert.equal(done.configHash, (await getTrainingJob(db, first)).configHash);
    assert.equal(done.adapterHash, (await getTrainingJob(db, first)).adapterHash, 'same data, seed and settings give the same adapter');
  });

  test('a GGUF file is a base model: a Qwen3-layout model exported to GGUF (F16) trains, evaluates and publishes', async () => {
    // the same kind of tiny base, as Qwen3 (q/k norms), then as llama.cpp's file
    const folder = join(dir, 'qwen3-base');
    await writeTinyBaseModel(folder, { architecture: 'qwen3', qkNorm: true }, 2);
    const files = await readModelDir(folder);
    const path = join(dir, 'qwen3-base.F16.gguf');
    await exportBaseGguf({ config: files.config, tensors: files.tensors, tokenizerJson: files.tokenizer.toJson(), path, dtype: 'F16' });
    const gguf = await addBaseModel(db, 'tiny-qwen3-gguf', path);
    assert.equal(gguf.config.architecture, 'qwen3');
    assert.equal(gguf.config.qkNorm, true);
    assert.equal(gguf.parameters, base.parameters + 2 * 2 * 8, 'the tiny base plus two q/k norms of head width 8 per layer');
    const job = await createTrainingJob(ctx, addr(BUILDER), request('zorvania-qa-gguf', { baseModel: 'tiny-qwen3-gguf' }));
    await createFactoryWorker(ctx).drain();
    const done = await getTrainingJob(db, job.id);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    assert.ok(done.evaluation!.tuned.loss < done.evaluation!.base.loss, `held-out loss: base ${done.evaluation!.base.loss}, tuned ${done.evaluation!.tuned.loss}`);
    const version = await ctx.contracts.modelRegistry.read.getVersion([BigInt(done.modelId!), 1n]);
    assert.equal(version.baseModelHash, gguf.id, 'the base is named on chain by the hash of its GGUF file');
  });

  test("a model may not take a base model's name, nor a base model a model's; a name squatted on chain while its job ran fails that job only, and the queue goes on", async () => {
    await assert.rejects(createTrainingJob(ctx, addr(BUILDER), request('TINY')), (e: Error & { code?: string }) => e.code === 'name_taken' && /name of a base model/.test(e.message));
    // another base model (other files) under a fine-tuned model's name
    const other = join(dir, 'other-base');
    await cp(base.path, other, { recursive: true });
    const config = JSON.parse(await readFile(join(other, 'config.json'), 'utf8'));
    await writeFile(join(other, 'config.json'), JSON.stringify({ ...config, rms_norm_eps: 1e-5 }));
    await assert.rejects(addBaseModel(db, 'zorvania-qa', other), (e: Error & { code?: string }) => e.code === 'name_taken' && /fine-tuned model/.test(e.message));

    const squatted = await createTrainingJob(ctx, addr(BUILDER), request('squatted-qa'));
    const behind = await createTrainingJob(ctx, addr(BUILDER), request('after-the-squat'));
    // someone registers the name on chain while the job waits to publish
    const squatter = await t.as(OWNER);
    await t.mined(squatter.modelRegistry.write.registerModel(['squatted-qa', '', 0n, base.id as Hex, keccak256(stringToBytes('a')), keccak256(stringToBytes('b')), [snapshot.root as Hex]]));
    await createFactoryWorker(ctx).drain();
    const failed = await getTrainingJob(db, squatted.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /registered on chain by someone else while the job ran/);
    assert.equal((await getTrainingJob(db, behind.id)).status, 'succeeded', 'the job behind it was not held up');
  });

  test('a job can be cancelled by its owner only', async () => {
    const job = await createTrainingJob(ctx, addr(BUILDER), request('cancelled-model'));
    await assert.rejects(cancelTrainingJob(db, job.id, addr(OWNER)), { code: 'forbidden' });
    const cancelled = await cancelTrainingJob(db, job.id, addr(BUILDER));
    assert.equal(cancelled.status, 'cancelled');
    await createFactoryWorker(ctx).drain();
    assert.equal((await getTrainingJob(db, job.id)).status, 'cancelled');
    // the name is free again
    await createTrainingJob(ctx, addr(BUILDER), request('cancelled-model'));
  });
});
