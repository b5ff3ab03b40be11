import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak256, toHex, type Address } from 'viem';
import { openDatabase } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { answeredRequest, pruneAnsweredRequests, recordAnsweredRequest, RequestAnsweredError, requestHashOf } from './answered-requests.ts';

const consumer = '0x00000000000000000000000000000000000000c1' as Address;
const request = { model: 'qa', prompt: 'q', maxTokens: 8, temperature: 0, topP: 1, seed: 0, stop: [] };
const answer = { receiptId: keccak256(toHex('receipt')), output: 'a', finishReason: 'stop' as const, spans: [], usage: { promptTokens: 1, completionTokens: 1 } };

test('a key keeps one answer for a day: a second record under it rolls back, another request under it is refused, old keys are forgotten', async (t) => {
  const db = await openDatabase({ memory: true });
  t.after(() => db.close());
  await migrate(db);
  const hash = requestHashOf(request);
  await db.transaction((tx) => recordAnsweredRequest(tx, consumer, 'k1', hash, answer));
  assert.deepEqual(await answeredRequest(db, consumer, 'k1', hash), answer);
  assert.equal(await answeredRequest(db, consumer, 'k2', hash), undefined);
  await assert.rejects(db.transaction((tx) => recordAnsweredRequest(tx, consumer, 'k1', hash, { ...answer, output: 'b' })), RequestAnsweredError);
  await assert.rejects(answeredRequest(db, consumer, 'k1', requestHashOf({ ...request, prompt: 'other' })), (e: Error & { code?: string }) => e.code === 'idempotency_key_reused');
  await db.query(`update answered_requests set created_at = now() - interval '25 hours' where request_key = 'k1'`);
  await db.transaction((tx) => recordAnsweredRequest(tx, consumer, 'k3', hash, answer));
  assert.equal(await pruneAnsweredRequests(db), 1);
  assert.equal(await answeredRequest(db, consumer, 'k1', hash), undefined);
  assert.ok(await answeredRequest(db, consumer, 'k3', hash));
});
