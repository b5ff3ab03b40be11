import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { openDatabase, type Database } from '../../store/database.ts';
import { migrate } from '../../store/migrate.ts';
import { installErrorHandler } from '../errors.ts';
import { datanetStats, datanetStatsRoutes } from './datanet-stats.ts';
import { datanetEarnings } from '../../settlement/datanet-earnings.ts';

// The per-datanet totals the web app's datanet page shows, over a store filled by hand: datanets 1
// and 2, contributions of three statuses, an intake rejection, snapshots, training jobs and epochs
// (posted, reverted) with credits of every role.
let db: Database;
let app: FastifyInstance;
const UPLOAD = '00000000-0000-0000-0000-000000000001';

before(async () => {
  db = await openDatabase({ memory: true });
  await migrate(db);
  await db.query(`insert into datanets (id, chain_id, owner, name, licence, curation, near_duplicate_threshold, metadata_uri, status)
    values (1, 1, '0xA', 'one', 'CC0', 'auto', 0.8, 'u1', 'active'), (2, 1, '0xA', 'two', 'CC0', 'auto', 0.8, 'u2', 'active')`);
  await db.query(`insert into uploads (id, datanet_id, contributor, status) values ($1, 1, '0xB', 'done')`, [UPLOAD]);
  await db.query(`insert into upload_rejections (upload_id, record_index, reason, detail) values ($1, 3, 'duplicate', 'same as #0')`, [UPLOAD]);
  await db.query(`insert into contributions (id, datanet_id, contributor, content_hash, kind, content, size, status) values
    ('a', 1, '0xB', 'h1', 'text', 't', 1, 'accepted'), ('b', 1, '0xC', 'h2', 'text', 't', 1, 'pending'), ('c', 1, '0xb', 'h3', 'text', 't', 1, 'rejected')`);
  await db.query(`insert into snapshots (datanet_id, root, count, blob_hash, status, requested_by) values (1, 'r1', 1, 'b', 'recorded', '0xA'), (2, 'r2', 1, 'b', 'building', '0xA')`);
  await db.query(`insert into base_models (id, name, path, config, parameters) values ('bm', 'base', '/p', '{}', 1)`);
  const job = (id: string, name: string, snapshots: string, status: string) =>
    db.query(`insert into training_jobs (id, owner, model_name, base_model_id, snapshot_ids, template, hyperparameters, price_per_1k, config_hash, status, model_id, finished_at)
      values ($1, '0xD', $2, 'bm', $3::bigint[], '{}', '{}', 0, 'h', $4, '7', now())`, [id, name, snapshots, status]);
  await job('j1', 'm1', '{1}', 'succeeded');
  await job('j2', 'm2', '{2}', 'succeeded');
  await job('j3', 'm3', '{1,2}', 'succeeded');
  await job('j4', 'm4', '{1}', 'failed');
  await db.query(`insert into settlement_epochs (epoch, status, root, cumulative_total, inputs_hash, inputs, leaves, posted_at)
    values (1, 'posted', 'r', 0, 'h', '{}', '[]', now()), (2, 'reverted', 'r', 0, 'h', '{}', '[]', null), (3, 'posted', 'r', 0, 'h', '{}', '[]', now())`);
  await db.query(`insert into epoch_credits (epoch, payee, role, model_name, datanet_id, amount) values
    (1, '0xA', 'datanet_owner', 'm1', 1, 100), (1, '0xB', 'contributor', 'm1', 1, 300), (1, '0xB', 'contributor', 'm3', 1, 5),
    (2, '0xB', 'contributor', 'm1', 1, 1000), (3, '0xC', 'contributor', 'm1', 1, 7), (3, '0xA', 'model_owner', 'm1', 0, 99), (3, '0xE', 'contributor', 'm1', 2, 50)`);
  app = Fastify();
  installErrorHandler(app);
  datanetStatsRoutes(app, { db });
});

after(async () => {
  await app?.close();
  await db?.close();
});

test('counts contributions by status, contributors, uploads, intake rejections, snapshots and the models trained on them', async () => {
  const s = await datanetStats(db, 1);
  assert.deepEqual(s.contributions, { accepted: 1, pending: 1, rejected: 1, total: 3 });
  assert.equal(s.contributors, 2); // 0xB and 0xb are one contributor
  assert.equal(s.acceptedContributors, 1);
  assert.equal(s.uploads, 1);
  assert.equal(s.intakeRejections, 1);
  assert.deepEqual(s.snapshots, { total: 1, recorded: 1 });
  assert.deepEqual(s.models.map((m) => m.name).sort(), ['m1', 'm3']); // not m2 (other datanet), not m4 (failed)
  assert.deepEqual(s.models.find((m) => m.name === 'm3')?.snapshotIds, [1, 2]);
  const two = await datanetStats(db, 2);
  assert.deepEqual(two.contributions, { accepted: 0, pending: 0, rejected: 0, total: 0 });
  assert.deepEqual(two.snapshots, { total: 1, recorded: 0 });
  assert.deepEqual(two.models.map((m) => m.name).sort(), ['m2', 'm3']);
});

test('sums the datanet-owner and contributor credits of posted epochs only', async () => {
  const e = await datanetEarnings(db, 1);
  assert.equal(e.total, '412');
  assert.equal(e.datanetOwner, '100');
  assert.equal(e.contributors, '312');
  assert.deepEqual(e.epochs.map((x) => [x.epoch, x.datanetOwner, x.contributors]), [[1, '100', '305'], [3, '0', '7']]);
  assert.deepEqual(e.payees, [
    { payee: '0xB', role: 'contributor', amount: '305' },
    { payee: '0xA', role: 'datanet_owner', amount: '100' },
    { payee: '0xC', role: 'contributor', amount: '7' },
  ]);
});

test('serves both over HTTP, 404 for an unknown datanet and 400 for a bad id', async () => {
  const stats = await app.inject({ method: 'GET', url: '/datanets/1/stats' });
  assert.equal(stats.statusCode, 200);
  assert.equal(stats.json().contributions.total, 3);
  const earnings = await app.inject({ method: 'GET', url: '/datanets/2/earnings' });
  assert.equal(earnings.statusCode, 200);
  assert.equal(earnings.json().contributors, '50');
  assert.equal((await app.inject({ method: 'GET', url: '/datanets/9/stats' })).statusCode, 404);
  assert.equal((await app.inject({ method: 'GET', url: '/datanets/x/earnings' })).statusCode, 400);
});
