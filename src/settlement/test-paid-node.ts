import { join } from 'node:path';
import { parseEther } from 'viem';
import { createModelLoader, storeModelSource, type ModelLoader } from '../attribution/model-loader.ts';
import { createFactoryWorker } from '../factory/factory-worker.ts';
import { createTrainingJob } from '../factory/jobs.ts';
import { BUILDER, startFactoryTestContext, type FactoryTestContext } from '../factory/test-context.ts';
import type { InferenceNode } from '../inference/run-inference.ts';
import type { Backend } from '../model/backend.ts';
import { createBackend } from '../model/create-backend.ts';
import type { Engine } from '../serve/engine.ts';
import { createBuiltinEngine } from '../serve/builtin-engine.ts';
import { createEscrowMeter } from './meter.ts';

/** A test node that serves a paid model: the factory's context, `facts-qa` trained on its datanet, the engine, the escrow meter. */
export interface PaidNodeTestContext {
  f: FactoryTestContext;
  models: ModelLoader;
  engine: Engine;
  meter: ReturnType<typeof createEscrowMeter>;
  /** The inference pipeline as the node (account 0) runs it, without a meter: add the one a test needs. */
  inference: InferenceNode;
  /** Deposits `amount` of `consumer`'s OPEN into the escrow (it holds 10 OPEN from the start). */
  deposit(consumer: number, amount: bigint): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts what the settlement and marketplace tests share: a chain and store with a datanet
 * (startFactoryTestContext), the model `facts-qa` trained on it at `price` per 1,000 tokens, its
 * loader and engine, the escrow meter of the node (account 0), staked as an operator, and 10 OPEN
 * for each of `consumers`.
 *
 * @example
 * const n = await startPaidNodeTestContext({ price: parseEther('0.01'), consumers: [7] });
 */
export async function startPaidNodeTestContext(o: { price: bigint; consumers: readonly number[] }): Promise<PaidNodeTestContext> {
  const NODE = 0;
  const f = await startFactoryTestContext();
  let backend: Backend | undefined;
  try {
    await createTrainingJob(f.ctx, f.addr(BUILDER), {
      modelName: 'facts-qa', baseModel: 'openledger-tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: o.price.toString(),
      hyperparameters: { sketchDimension: 256 },
    });
    await createFactoryWorker(f.ctx).drain();
    backend = createBackend({ threads: 1 });
    const models = createModelLoader({ source: storeModelSource(f.db, f.ctx.blobs), backend, cacheDir: join(f.dir, 'attribution') });
    const engine = createBuiltinEngine({ loadBase: (b) => models.base(b.id) });
    const meter = createEscrowMeter({ db: f.db, contracts: f.ctx.contracts, operator: f.addr(NODE) });
    const operator = await f.t.as(NODE);
    await f.t.mined(operator.openToken.write.approve([f.t.addresses.staking, parseEther('1000')]));
    await f.t.mined(operator.staking.write.stake([0, 0n, parseEther('1000')]));
    for (const c of o.consumers) await f.t.mined(operator.openToken.write.transfer([f.addr(c), parseEther('10')]));
    const b = backend;
    return {
      f, models, engine, meter,
      inference: { account: f.t.accounts[NODE]!, chainId: 31337, contracts: f.ctx.contracts, db: f.db, models, engine },
      async deposit(consumer, amount) {
        const c = await f.t.as(consumer);
        await f.t.mined(c.openToken.write.approve([f.t.addresses.inferenceEscrow, amount]));
        await f.t.mined(c.inferenceEscrow.write.deposit([f.addr(consumer), amount]));
      },
      async stop() {
        await b.dispose();
        await f.stop();
      },
    };
  } catch (err) {
    await backend?.dispose();
    await f.stop();
    throw err;
  }
}
