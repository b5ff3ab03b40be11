import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from 'viem';
import { createIndexer } from '../chain/indexer.ts';
import { indexedContracts } from '../chain/protocol.ts';
import type { TestProtocol } from '../chain/test-chain.ts';
import { datanetProjection } from '../datanet/chain-projection.ts';
import { createDatanet } from '../datanet/create-datanet.ts';
import { parseDefinition } from '../datanet/definition.ts';
import { ingestRecords } from '../datanet/ingest-records.ts';
import type { Snapshot } from '../datanet/datanet-types.ts';
import { createSnapshot } from '../datanet/snapshots.ts';
import { startDatanetTestContext } from '../datanet/test-context.ts';
import { createDatanetWorker } from '../datanet/worker.ts';
import { generatePlantedFacts, type PlantedDataset, type PlantedRecord } from '../model/corpus/planted-facts.ts';
import { writeTinyBaseModel } from '../model/tiny-base-model.test-util.ts';
import { chainEventSink } from '../store/chain-events.ts';
import type { Database } from '../store/database.ts';
import { addBaseModel } from './base-models.ts';
import { modelProjection } from './chain-projection.ts';
import type { BaseModel } from './factory-types.ts';
import type { FactoryContext } from './factory-worker.ts';
import { SHIPPED_BASE_MODEL } from './shipped-base-model.ts';

/** Accounts of the factory tests: 0 the node, 1 the datanet owner, 2 the model builder, 3–6 contributors. */
export const OWNER = 1, BUILDER = 2, CONTRIBUTORS = [3, 4, 5, 6];

export interface FactoryTestContext {
  t: TestProtocol;
  db: Database;
  ctx: FactoryContext;
  dir: string;
  base: BaseModel;
  snapshot: Snapshot;
  facts: PlantedDataset;
  addr(i: number): Address;
  /** Indexes the chain's new events into the store, with the node's projections (as a node's indexer does). */
  indexChain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A chain, store and blobs (startDatanetTestContext) plus what fine-tuning needs: a tiny random
 * base model on disk ("tiny", fast, learns little), the shipped pre-trained base model
 * ("openledger-tiny", learns the facts with the default settings), and a datanet of planted facts (train and held-out records, spread
 * over four contributors) frozen in a recorded snapshot.
 *
 * @example
 * const f = await startFactoryTestContext();
 * after(f.stop);
 */
export async function startFactoryTestContext(): Promise<FactoryTestContext> {
  const started = await startDatanetTestContext();
  const { t, db } = started;
  const addr = (i: number): Address => t.accounts[i]!.address;
  const dir = mkdtempSync(join(tmpdir(), 'openledger-factory-'));
  const ctx: FactoryContext = { ...started.ctx, jobsDir: join(dir, 'jobs'), threads: 1 };
  await writeTinyBaseModel(join(dir, 'base'));
  const base = await addBaseModel(db, 'tiny', join(dir, 'base'));
  // the pre-trained shipped model, for tests whose answers must state what they learnt (attribution pays only for those)
  await addBaseModel(db, SHIPPED_BASE_MODEL.name, SHIPPED_BASE_MODEL.path);

  const datanet = await createDatanet(ctx, addr(OWNER), parseDefinition({
    name: 'zorvania-facts', licence: 'CC-BY-4.0', contributionStake: '0',
    recordSchema: { type: 'object', required: ['prompt', 'response'], properties: { prompt: { type: 'string' }, response: { type: 'string' } } },
  }));
  const facts = generatePlantedFacts({ seed: 3, facts: 12, contributors: CONTRIBUTORS.length });
  const records = [...facts.train, ...facts.heldOut];
  const names = [...new Set(records.map((r) => r.contributor))].sort();
  for (const [c, name] of names.entries()) {
    const own = records.filter((r) => r.contributor === name);
    await ingestRecords(ctx, datanet, addr(CONTRIBUTORS[c % CONTRIBUTORS.length]!), own.map((r, index) => ({ index, record: { prompt: r.prompt, response: r.response } })));
  }
  await createDatanetWorker(ctx).runOnce();
  const { snapshot } = await createSnapshot(ctx, datanet, addr(OWNER));
  const indexer = createIndexer({ client: ctx.clients.publicClient, chainId: ctx.clients.chain.id, contracts: indexedContracts(t.addresses), sink: chainEventSink(db, [datanetProjection, modelProjection]) });
  return {
    t, db, ctx, dir, base, snapshot, facts, addr, indexChain: indexer.runOnce,
    async stop() {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A question of the datanet's training records that the fine-tuned model answers with its fact
 * (`answer` asks it): what attribution pays contributors for. A model that learnt nothing has none.
 *
 * @example
 * const { prompt } = await learntQuestion(f, async (p) => (await infer(p)).output);
 */
export async function learntQuestion(f: FactoryTestContext, answer: (prompt: string) => Promise<string>): Promise<{ prompt: string; record: PlantedRecord }> {
  const tried: string[] = [];
  for (const record of f.facts.train) {
    const prompt = `### Question: ${record.prompt}\n### Answer:`;
    const fact = f.facts.facts.find((x) => x.id === record.factId)!;
    const said = await answer(prompt);
    if (said.includes(fact.object) && said.includes(fact.subject)) return { prompt, record };
    tried.push(`${record.prompt} → ${said}`);
    if (tried.length >= 12) break;
  }
  throw new Error(`the model states none of its facts:\n${tried.join('\n')}`);
}
