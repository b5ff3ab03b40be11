import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import type { Hex } from 'viem';
import { sendOnce } from '../chain/send-once.ts';
import type { NodeContext } from '../store/node-context.ts';
import { blobURI } from '../store/blob-uri.ts';
import { getSnapshot } from '../datanet/snapshots.ts';
import { getBaseModel } from './base-models.ts';
import type { TrainingJob } from './factory-types.ts';
import { getTrainingJob, updateJob } from './jobs.ts';
import { traceFiles, type TraceExample } from './training-trace.ts';
import { contributionsDocument } from './model-contributions.ts';

/**
 * Publishes a trained job's adapter, from whatever step a previous attempt reached:
 * 1. the PEFT files, the attribution trace, the contributions document (who contributed each
 *    example, checkable by its id) and a metadata document go to the blob store
 *    (content-addressed, so a repeated put changes nothing);
 * 2. the node registers the model in the ModelRegistry with its provenance (base model hash,
 *    adapter hash = keccak256 of adapter_model.safetensors, training configuration hash, snapshot
 *    roots), at most once across crashes (found again by its name in the registry's events);
 * 3. ownership passes to the job's owner, who sets prices and publishes versions from then on.
 *
 * @example
 * const job = await publishModel(ctx, await getTrainingJob(db, id), join(jobsDir, id, 'output'));
 */
export async function publishModel(ctx: NodeContext, job: TrainingJob, outputDir: string): Promise<TrainingJob> {
  const { db, blobs, contracts, clients } = ctx;
  const snapshots = await Promise.all(job.snapshotIds.map((id) => getSnapshot(db, id)));
  const roots = snapshots.map((s) => s.root).sort();

  if (!job.metadataBlob) {
    const put = async (name: string) => (await blobs.put(await readFile(join(outputDir, name)))).hash;
    const adapterBlob = await put('adapter_model.safetensors');
    const adapterConfigBlob = await put('adapter_config.json');
    // the trace document: its manifest and each file by content hash (attribution fetches them by hash)
    const trace = {
      version: 2,
      manifest: JSON.parse(await readFile(join(outputDir, traceFiles.manifest), 'utf8')) as unknown,
      files: { [traceFiles.tokens]: await put(traceFiles.tokens), [traceFiles.examples]: await put(traceFiles.examples), [traceFiles.gradients]: await put(traceFiles.gradients) },
    };
    const traceBlob = (await blobs.put(Buffer.from(canonicalize(trace)!))).hash;
    // who contributed each example, checkable by its id: what another node serving the model pays by
    const { examples } = JSON.parse(await readFile(join(outputDir, traceFiles.examples), 'utf8')) as { examples: TraceExample[] };
    const contributionsBlob = (await blobs.put(Buffer.from(canonicalize(await contributionsDocument(db, examples.map((e) => e.contributionId)))!))).hash;
    const base = await getBaseModel(db, job.baseModelId);
    const metadata = {
      version: 1,
      name: job.modelName,
      owner: job.owner,
      baseModel: { id: base.id, name: base.name, config: base.config },
      adapter: { hash: adapterBlob, weights: blobURI(adapterBlob), config: blobURI(adapterConfigBlob), format: 'peft-lora' },
      attributionTrace: blobURI(traceBlob),
      contributions: blobURI(contributionsBlob),
      snapshots: snapshots.map((s) => ({ datanetId: s.datanetId, root: s.root, count: s.count })),
      template: job.template,
      hyperparameters: job.hyperparameters,
      trainingConfigHash: job.configHash,
      evaluation: job.evaluation,
    };
    const metadataBlob = (await blobs.put(Buffer.from(canonicalize(metadata)!))).hash;
    await updateJob(db, job.id, 'publishing', { adapter_hash: adapterBlob, adapter_blob: adapterBlob, adapter_config_blob: adapterConfigBlob, trace_blob: traceBlob, metadata_blob: metadataBlob });
    job = await getTrainingJob(db, job.id);
  }

  if (!job.modelId) {
    const node = clients.account.address;
    const registered = await sendOnce(ctx, {
      contract: 'modelRegistry',
      eventName: 'ModelRegistered',
      filter: { owner: node },
      matches: (args) => args.name === job.modelName,
      sentFromBlock: job.sentFromBlock,
      recordHead: async (head) => updateJob(db, job.id, 'publishing', { sent_from_block: head.toString() }),
      send: () => contracts.modelRegistry.write.registerModel([
        job.modelName, blobURI(job.metadataBlob!), BigInt(job.pricePer1kTokens), job.baseModelId, job.adapterHash!, job.configHash, roots as Hex[],
      ]),
    });
    await updateJob(db, job.id, 'publishing', { model_id: (registered.args.modelId as bigint).toString(), tx_hash: registered.transactionHash });
    job = await getTrainingJob(db, job.id);
  }

  const modelId = BigInt(job.modelId!);
  const onChain = await contracts.modelRegistry.read.getModel([modelId]);
  if (onChain.owner.toLowerCase() !== job.owner.toLowerCase()) {
    const hash = await contracts.modelRegistry.write.transferModelOwnership([modelId, job.owner]);
    await clients.publicClient.waitForTransactionReceipt({ hash });
  }
  await updateJob(db, job.id, 'succeeded', { finished_at: new Date() });
  return getTrainingJob(db, job.id);
}
