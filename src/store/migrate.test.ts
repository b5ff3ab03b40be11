import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase, type Database } from './database.ts';
import { deploymentRecorder } from './deployment-steps.ts';
import { listMigrations, migrate } from './migrate.ts';
import { startPostgresServer } from './test-postgres.ts';

async function checkMigrations(db: Database) {
  const all = listMigrations().map((m) => m.version);
  assert.deepEqual(await migrate(db), all, 'a new database gets every migration');
  assert.deepEqual(await migrate(db), [], 'a second run applies nothing');
  const tables = (await db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' order by 1`)).map(
    (r) => r.table_name,
  );
  for (const t of ['chain_events', 'deployment_steps', 'indexer_cursors', 'schema_migrations']) assert.ok(tables.includes(t), t);

  // A transaction that throws leaves nothing behind.
  const rec = deploymentRecorder(db);
  await assert.rejects(
    db.transaction(async (tx) => {
      await tx.query(`insert into deployment_steps (chain_id, name, status) values (1, 'x', 'done')`);
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.deepEqual(await rec.load(1), {});
  await rec.save(1, { name: 'openToken', status: 'done', address: '0x0000000000000000000000000000000000000001' });
  assert.equal((await rec.load(1)).openToken?.address, '0x0000000000000000000000000000000000000001');
}

test('migrations apply once on embedded PGlite', async () => {
  const db = await openDatabase({ memory: true });
  try {
    assert.equal(db.kind, 'pglite');
    await checkMigrations(db);
  } finally {
    await db.close();
  }
});

test('the same migrations apply once on a Postgres server, also when two processes race', async (t) => {
  const server = await startPostgresServer();
  if (typeof server === 'string') return t.skip(server);
  try {
    const [a, b] = await Promise.all([openDatabase({ url: server.url }), openDatabase({ url: server.url })]);
    try {
      assert.equal(a.kind, 'postgres');
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      assert.deepEqual([...ra, ...rb].sort((x, y) => x - y), listMigrations().map((m) => m.version), 'each migration applied by exactly one');
      await a.query('drop schema public cascade; create schema public');
      await checkMigrations(a);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  } finally {
    server.stop();
  }
});

test("each module's migrations sit beside its code and run in one order of versions; two with one version are refused", () => {
  const all = listMigrations();
  assert.deepEqual(all.map((m) => m.version), all.map((_, i) => i + 1), 'versions 1, 2, 3, … with no gap');
  const owner = Object.fromEntries(all.map((m) => [m.name, m.module]));
  assert.equal(owner.datanets, 'datanet');
  assert.equal(owner.settlement, 'settlement');
  assert.equal(owner.chain, 'store');
  const dir = mkdtempSync(join(tmpdir(), 'openledger-migrations-'));
  try {
    for (const [module, file] of [['a', '0001_one.sql'], ['b', '0002_two.sql'], ['c', '0002_clash.sql']] as const) {
      mkdirSync(join(dir, module, 'migrations'), { recursive: true });
      writeFileSync(join(dir, module, 'migrations', file), 'select 1;');
    }
    assert.throws(() => listMigrations(dir), /share version 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
