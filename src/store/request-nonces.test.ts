import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDatabase, type Database } from './database.ts';
import { migrate } from './migrate.ts';
import { pruneRequestNonces, useRequestNonce } from './request-nonces.ts';

let db: Database;
before(async () => {
  db = await openDatabase({ memory: true });
  await migrate(db);
});
after(() => db?.close());

test('a nonce is used once; expired nonces are pruned, live ones kept', async () => {
  const now = new Date('2026-12-06T12:00:00Z');
  assert.equal(await useRequestNonce(db, '0xAbC', '0x01', new Date(now.getTime() - 1000)), true);
  assert.equal(await useRequestNonce(db, '0xabc', '0x01', new Date(now.getTime() - 1000)), false, 'a replay');
  assert.equal(await useRequestNonce(db, '0xabc', '0x02', new Date(now.getTime() + 600_000)), true);
  assert.equal(await pruneRequestNonces(db, now), 1);
  assert.equal(await useRequestNonce(db, '0xabc', '0x02', new Date(now.getTime() + 600_000)), false, 'a live nonce is still refused');
});
