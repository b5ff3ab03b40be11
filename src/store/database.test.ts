import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from './database.ts';

test('an SQL error on PGlite leaves the database answering the right rows', async () => {
  const db = await openDatabase({ memory: true });
  try {
    await db.query('create table t (id text primary key)');
    await db.query('insert into t values ($1), ($2)', ['a', 'b']);
    await assert.rejects(db.query('insert into t values ($1)', ['a']), { code: '23505' });
    await assert.rejects(db.query('select 1 / 0'), { code: '22012' });
    for (let i = 0; i < 3; i++) assert.deepEqual(await db.query('select id from t order by id'), [{ id: 'a' }, { id: 'b' }]);
    await assert.rejects(db.transaction(async (tx) => tx.query('insert into t values ($1)', ['b'])), { code: '23505' });
    assert.deepEqual(await db.query('select count(*)::int as n from t'), [{ n: 2 }]);
  } finally {
    await db.close();
  }
});
