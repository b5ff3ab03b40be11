import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestProtocol, type TestProtocol } from '../chain/test-chain.ts';
import { openBlobStore } from '../store/blobs.ts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import type { NodeContext } from '../store/node-context.ts';

/** A datanet context on real parts, for tests: a fresh chain, an in-memory store, blobs on disk. */
export interface DatanetTestContext {
  t: TestProtocol;
  db: Database;
  /** Signs as dev account 0, the node (deployer and treasury). */
  ctx: NodeContext;
  stop(): Promise<void>;
}

/**
 * Starts a throw-away chain with the protocol deployed, a migrated in-memory PGlite store and a blob
 * store in a temporary directory, and the node's NodeContext over them.
 *
 * @example
 * const { t, ctx, stop } = await startDatanetTestContext();
 * after(stop);
 */
export async function startDatanetTestContext(): Promise<DatanetTestContext> {
  const dir = mkdtempSync(join(tmpdir(), 'openledger-datanet-'));
  const [t, db] = await Promise.all([startTestProtocol(), openDatabase({ memory: true })]);
  await migrate(db);
  const ctx: NodeContext = { db, blobs: await openBlobStore({ dataDir: join(dir, 'blobs') }), clients: await t.clients(0), contracts: await t.as(0) };
  return {
    t,
    db,
    ctx,
    async stop() {
      await Promise.all([t.stop(), db.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
