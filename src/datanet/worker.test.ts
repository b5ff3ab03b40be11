import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Address } from 'viem';
import type { TestProtocol } from '../chain/test-chain.ts';
import type { Database } from '../store/database.ts';
import { listWorkerFailures } from '../store/worker-failures.ts';
import type { NodeContext } from '../store/node-context.ts';
import { createDatanet } from './create-datanet.ts';
import { getDatanet } from './datanets.ts';
import { parseDefinition } from './definition.ts';
import { ingestRecords } from './ingest-records.ts';
import { startDatanetTestContext } from './test-context.ts';
import { createDatanetWorker } from './worker.ts';

// Accounts: 0 the node, 1 a datanet owner, 3 a contributor.
const OWNER = 1;
const ALICE = 3;

let t: TestProtocol;
let db: Database;
let ctx: NodeContext;
let stop: () => Promise<void>;
const addr = (i: number): Address => t.accounts[i]!.address;

before(async () => {
  ({ t, db, ctx, stop } = await startDatanetTestContext());
});
after(() => stop?.());

describe('the datanet worker isolates what fails', () => {
  test('a recovery item the chain refuses is recorded and backed off; the others finish and the pass returns', async () => {
    // left by a crash: two registrations sent; one with a stake past uint96 (stored before the API checked it)
    const head = (await ctx.clients.publicClient.getBlockNumber()).toString();
    const insert = (name: string, stake: string) => db.query<{ key: string }>(
      `insert into datanets (chain_id, owner, name, licence, curation, near_duplicate_threshold, metadata_uri, status, sent_from_block, contribution_stake)
       values (31337, $1, $2, 'MIT', 'auto', 0.8, 'openledger://blob/' || $2, 'creating', $3, $4) returning key`,
      [addr(OWNER), name, head, stake],
    );
    const [bad] = await insert('overflowing', '9'.repeat(30));
    const [good] = await insert('fine', '0');
    const worker = createDatanetWorker(ctx, { retryBaseMs: 3_600_000 });
    const pass = await worker.runOnce();
    assert.equal(pass.registered, 1);
    const [fine] = await db.query<{ status: string }>('select status from datanets where key = $1', [good!.key]);
    assert.equal(fine?.status, 'active');
    const failures = await listWorkerFailures(db);
    assert.deepEqual(failures.map((f) => [f.item, f.attempts]), [[`register:datanet-key:${bad!.key}`, 1]]);
    assert.match(failures[0]!.lastError, /96-bit unsigned integer range/);
    assert.ok(failures[0]!.nextAttemptAt.getTime() > Date.now() + 3_000_000, 'backed off');
    // not retried before its time
    assert.equal((await worker.runOnce()).registered, 0);
    assert.equal((await listWorkerFailures(db))[0]!.attempts, 1);
    await db.query(`delete from datanets where key = $1`, [bad!.key]);
    await db.query(`delete from worker_failures`);
  });

  test("a datanet whose owner removed the node as curator does not stop the others' anchoring; it resumes when restored", async () => {
    const make = (name: string) => createDatanet(ctx, addr(OWNER), parseDefinition({ name, licence: 'MIT' }));
    const [a, b] = [await make('revoked'), await make('kept')];
    for (const d of [a, b]) await ingestRecords(ctx, d, addr(ALICE), [{ index: 0, record: `a record for ${d.name}` }]);
    const owner = await t.as(OWNER);
    await t.mined(owner.datanetRegistry.write.setCurator([BigInt(a.id!), addr(0), false]));
    const worker = createDatanetWorker(ctx, { retryBaseMs: 1 });
    assert.equal((await worker.runOnce()).batches, 1, "the other datanet's batch is anchored");
    assert.equal((await ctx.contracts.datanetRegistry.read.getBatch([BigInt(b.id!), 0n])).count, 1n);
    assert.deepEqual((await listWorkerFailures(db)).map((f) => f.item), [`anchor:datanet:${a.id}`]);
    await t.mined(owner.datanetRegistry.write.setCurator([BigInt(a.id!), addr(0), true]));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal((await worker.runOnce()).batches, 1);
    assert.equal((await ctx.contracts.datanetRegistry.read.getBatch([BigInt(a.id!), 0n])).count, 1n);
    assert.deepEqual(await listWorkerFailures(db), [], 'the record is cleared');
    assert.equal((await getDatanet(db, a.id!)).name, 'revoked');
  });
});
