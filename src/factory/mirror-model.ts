import type { Hex } from 'viem';
import { z } from 'zod';
import type { NodeContext } from '../store/node-context.ts';
import { toBlobHash } from '../store/blobs.ts';
import { blobHashOfURI } from '../store/blob-uri.ts';
import { fetchBlob } from '../store/fetch-blob.ts';
import { getBaseModel } from './base-models.ts';
import { FactoryError } from './errors.ts';
import { getPublishedModel, type PublishedModel } from './published-models.ts';
import { readContributionsDocument, recordMirroredContributions } from './model-contributions.ts';
import { traceFiles } from './training-trace.ts';

const hash = z.string().regex(/^0x[0-9a-fA-F]{64}$/).transform((h) => h.toLowerCase() as Hex);
/** A blob URI (`openledger://blob/<hash>`), read as the hash it names. */
const blobUri = z.string().transform((u, ctx) => blobHashOfURI(u) ?? (ctx.addIssue({ code: 'custom', message: `${JSON.stringify(u)} does not name a content-addressed blob` }), z.NEVER));

/** The part of a published model's metadata document (factory/publish-model.ts) a mirror needs. */
const metadataSchema = z.looseObject({
  version: z.literal(1),
  name: z.string(),
  baseModel: z.looseObject({ id: hash }),
  adapter: z.looseObject({ hash, weights: blobUri, config: blobUri }),
  attributionTrace: blobUri,
  /** Absent from models published before networks: such a model cannot be settled by another node. */
  contributions: blobUri.optional(),
});

/** A trace document: its manifest and its files by content hash (version 2; version 1 named three files). */
const traceSchema = z.union([
  z.looseObject({ version: z.literal(2), files: z.record(z.string(), hash) }),
  z.looseObject({ version: z.literal(1), tokens: hash, examples: hash, sketches: hash }),
]);

/**
 * Makes a model another node trained and published servable here: reads its latest version from
 * the ModelRegistry (the metadata URI, the base model's and the adapter's hashes), fetches the
 * metadata document, the PEFT adapter, the attribution trace and the contributions document (who
 * contributed each example, each id checked) from `peers` by content hash —
 * each checked against its hash as it arrives, and the document against what the chain says —
 * and records the model as mirrored. From then on it is served like the node's own models (owner,
 * price and active flag from the chain), its receipts signed by this node. The base model must be
 * on this node already (by the same content hash). Mirroring again is a no-op.
 *
 * @example
 * const model = await mirrorModel(ctx, 3n, ['https://node-a.example']);
 */
export async function mirrorModel(ctx: NodeContext, modelId: bigint, peers: readonly string[]): Promise<PublishedModel> {
  const registry = ctx.contracts.modelRegistry.read;
  const onChain = await registry.getModel([modelId]);
  if (!onChain.active) throw new FactoryError('model_deactivated', `model ${modelId} ("${onChain.name}") was deactivated in the ModelRegistry by its owner`);
  const version = await registry.getVersion([modelId, BigInt(onChain.versionCount)]);
  const metadataHash = blobHashOfURI(onChain.metadataURI);
  if (!metadataHash) throw new FactoryError('unmirrorable_model', `model ${modelId}'s metadata URI ${JSON.stringify(onChain.metadataURI)} does not name a content-addressed blob`);

  // each blob is fetched (checked against its hash) into this node's blobs; only the documents are read back
  const pull = (h: Hex) => fetchBlob(ctx.blobs, peers, toBlobHash(h));
  const get = async (h: Hex) => {
    await pull(h);
    return ctx.blobs.get(toBlobHash(h));
  };
  const parsed = metadataSchema.safeParse(JSON.parse(Buffer.from(await get(metadataHash)).toString('utf8')));
  if (!parsed.success) throw new FactoryError('unmirrorable_model', `model ${modelId}'s metadata document is not one this node reads: ${parsed.error.issues[0]?.message}`);
  const m = parsed.data;
  // the document is named by its hash on chain; what it says must agree with the chain too
  const disagree = [
    m.name !== onChain.name && `name ${m.name} ≠ ${onChain.name}`,
    m.baseModel.id !== version.baseModelHash.toLowerCase() && `base model ${m.baseModel.id} ≠ ${version.baseModelHash}`,
    (m.adapter.hash !== version.adapterHash.toLowerCase() || m.adapter.weights !== m.adapter.hash) && `adapter ${m.adapter.weights} ≠ ${version.adapterHash}`,
  ].filter(Boolean);
  if (disagree.length > 0) throw new FactoryError('unmirrorable_model', `model ${modelId}'s metadata disagrees with its latest version on chain: ${disagree.join('; ')}`);
  try {
    await getBaseModel(ctx.db, m.baseModel.id);
  } catch {
    throw new FactoryError('base_model_missing', `model ${modelId} ("${m.name}") is an adapter on base model ${m.baseModel.id}, which this node does not have: add it first (openledger base-model add)`);
  }

  await pull(m.adapter.weights);
  await pull(m.adapter.config);
  const trace = traceSchema.safeParse(JSON.parse(Buffer.from(await get(m.attributionTrace)).toString('utf8')));
  if (!trace.success) throw new FactoryError('unmirrorable_model', `model ${modelId}'s attribution trace is not one this node reads`);
  for (const h of trace.data.version === 2 ? Object.values(trace.data.files) : [trace.data.tokens, trace.data.examples, trace.data.sketches]) await pull(h);
  // whom its receipts pay: every trace example's contributor, each id checked against its content hash and contributor
  if (!m.contributions) throw new FactoryError('unmirrorable_model', `model ${modelId} ("${m.name}") was published without a contributions document (by an older node): no other node can pay its contributors`);
  const examplesHash = trace.data.version === 2 ? trace.data.files[traceFiles.examples] : trace.data.examples;
  if (!examplesHash) throw new FactoryError('unmirrorable_model', `model ${modelId}'s attribution trace has no ${traceFiles.examples}`);
  const { examples } = JSON.parse(Buffer.from(await ctx.blobs.get(toBlobHash(examplesHash))).toString('utf8')) as { examples: Array<{ contributionId: Hex }> };
  const contributions = readContributionsDocument(JSON.parse(Buffer.from(await get(m.contributions)).toString('utf8')), examples.map((e) => e.contributionId));

  await ctx.db.transaction(async (tx) => {
    await recordMirroredContributions(tx, ctx.clients.chain.id, modelId, contributions);
    await tx.query(
    `insert into mirrored_models (chain_id, model_id, name, version, base_model_id, adapter_hash, adapter_config_blob, trace_blob, metadata_blob)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     on conflict (chain_id, model_id) do update set name = excluded.name, version = excluded.version, base_model_id = excluded.base_model_id, adapter_hash = excluded.adapter_hash,
       adapter_config_blob = excluded.adapter_config_blob, trace_blob = excluded.trace_blob, metadata_blob = excluded.metadata_blob, mirrored_at = now()`,
    [ctx.clients.chain.id, modelId.toString(), m.name, onChain.versionCount, m.baseModel.id, m.adapter.weights, m.adapter.config, m.attributionTrace, metadataHash],
    );
  });
  return getPublishedModel(ctx.db, m.name);
}

/**
 * One pass of a node that serves the network's models: every model active on chain that this node
 * neither trained nor mirrored is mirrored from `peers` (asked for only when there is one). A model that cannot
 * be mirrored now (no peer has it, its base model is missing here) is reported and tried again on
 * the next pass; it never holds up the others. Returns the models mirrored.
 *
 * @example
 * repeat(() => mirrorPublishedModels(ctx, async () => ['https://node-a.example'], log), 15_000, log).start();
 */
export async function mirrorPublishedModels(ctx: NodeContext, peersOf: () => Promise<readonly string[]>, log: (line: string) => void = () => {}): Promise<PublishedModel[]> {
  const candidates = await ctx.db.query<{ model_id: string }>(
    `select m.model_id::text from models_on_chain m
     where m.chain_id = $1 and m.active
       and not exists (select 1 from training_jobs j where j.model_id = m.model_id and j.status = 'succeeded')
       and not exists (select 1 from mirrored_models r where r.chain_id = m.chain_id and r.model_id = m.model_id)
     order by m.model_id`, [ctx.clients.chain.id]);
  if (candidates.length === 0) return [];
  const peers = await peersOf();
  if (peers.length === 0) return [];
  const mirrored: PublishedModel[] = [];
  for (const { model_id } of candidates) {
    try {
      const m = await mirrorModel(ctx, BigInt(model_id), peers);
      mirrored.push(m);
      log(`network: mirrored model ${model_id} (${m.name}) from a peer; serving it`);
    } catch (err) {
      log(`network: model ${model_id} not mirrored yet: ${(err as Error).message}`);
    }
  }
  return mirrored;
}
