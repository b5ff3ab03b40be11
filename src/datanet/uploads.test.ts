import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Address } from 'viem';
import type { TestProtocol } from '../chain/test-chain.ts';
import type { Database } from '../store/database.ts';
import type { NodeContext } from '../store/node-context.ts';
import { createDatanet } from './create-datanet.ts';
import type { Datanet } from './datanet-types.ts';
import { parseDefinition } from './definition.ts';
import { checkUploadAllowed, getUpload, MAX_OPEN_UPLOADS_PER_ACCOUNT, MAX_UPLOAD_BYTES_PER_DAY, MAX_UPLOAD_CRASHES, processUpload, recordUpload, uploadResults } from './uploads.ts';
import { createDatanetWorker } from './worker.ts';
import { startDatanetTestContext } from './test-context.ts';

let t: TestProtocol;
let db: Database;
let ctx: NodeContext;
let stop: () => Promise<void>;
let datanet: Datanet;
let contributor: Address;

before(async () => {
  ({ t, db, ctx, stop } = await startDatanetTestContext());
  datanet = await createDatanet(ctx, t.accounts[1]!.address, parseDefinition({ name: 'lines', licence: 'MIT', nearDuplicateThreshold: 0.95 }));
  contributor = t.accounts[2]!.address;
});

after(() => stop?.());

/** 1,500 distinct records, a few bad lines and duplicates among them. */
function file(): string {
  const lines: string[] = [];
  for (let i = 0; i < 1500; i++) {
    if (i % 500 === 7) lines.push('{"text": "unterminated');
    else if (i % 500 === 9) lines.push(JSON.stringify({ text: `record number ${i - 4} about topic ${(i - 4) * 7919} with details ${(i - 4) ** 2}` }));
    else lines.push(JSON.stringify({ text: `record number ${i} about topic ${i * 7919} with details ${i ** 2}` }));
  }
  return `${lines.join('\n')}\n`;
}

test('an upload interrupted mid-way is finished by the worker: every record stored once, every outcome kept', async () => {
  const bytes = new TextEncoder().encode(file());
  const { hash, size } = await ctx.blobs.put(bytes);
  const id = await recordUpload(db, { datanetId: datanet.id!, contributor, blobHash: hash, bytes: size, filename: 'records.jsonl' });

  // The node "dies" while processing: the blob store fails after the first chunk has been stored.
  const crashing: NodeContext = {
    ...ctx,
    blobs: {
      ...ctx.blobs,
      async open() {
        async function* cut() {
          yield bytes.subarray(0, Math.floor(bytes.length * 0.6));
          throw new Error('killed');
        }
        return cut() as never;
      },
    },
  };
  await assert.rejects(processUpload(crashing, id), /killed/);
  assert.equal((await getUpload(db, id)).status, 'processing');
  const storedBefore = await db.query<{ n: string }>('select count(*) as n from contributions where upload_id = $1', [id]);
  assert.ok(Number(storedBefore[0]!.n) > 0, 'the first chunk was stored before the crash');

  const pass = await createDatanetWorker(ctx).runOnce();
  assert.equal(pass.uploads, 1);
  const upload = await getUpload(db, id);
  assert.equal(upload.status, 'done');
  assert.equal(upload.records, 1500);
  assert.equal(upload.rejected, 6, '3 malformed lines and 3 duplicates');
  assert.equal(upload.accepted, 1494);
  const [{ n } = { n: '' }] = await db.query<{ n: string }>('select count(*) as n from contributions where upload_id = $1', [id]);
  assert.equal(Number(n), 1494, 'no record stored twice');
  const rejected = await uploadResults(db, id, { from: 0, limit: 100, status: 'rejected' });
  assert.deepEqual(
    rejected.map((r) => [r.index, r.status === 'rejected' ? r.reason : '']),
    [[7, 'malformed_json'], [9, 'duplicate'], [507, 'malformed_json'], [509, 'duplicate'], [1007, 'malformed_json'], [1009, 'duplicate']],
  );
  const all = await uploadResults(db, id, { from: 0, limit: 2000 });
  assert.deepEqual(all.map((r) => r.index), Array.from({ length: 1500 }, (_, i) => i), 'one outcome per record, in file order');

  // Processing a finished upload again changes nothing.
  assert.equal((await processUpload(ctx, id)).accepted, 1494);
});

test('an upload whose processing stopped the node three times is marked failed instead of crash-looping start-up; errors that end cleanly do not count', async () => {
  const { hash, size } = await ctx.blobs.put(new TextEncoder().encode('{"text": "a bomb, as far as the node could tell"}\n'));
  const id = await recordUpload(db, { datanetId: datanet.id!, contributor, blobHash: hash, bytes: size, filename: 'bomb.jsonl' });
  // three starts that never ended: the node died each time (e.g. out of memory)
  await db.query(`update uploads set status = 'processing', attempts = $2 where id = $1`, [id, MAX_UPLOAD_CRASHES]);
  const failed = await processUpload(ctx, id);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error ?? '', /stopped the node 3 times/);
  const [{ n } = { n: '' }] = await db.query<{ n: string }>('select count(*) as n from contributions where upload_id = $1', [id]);
  assert.equal(Number(n), 0, 'not read again');
  // the interrupted upload above ended with an error each time it was cut: its count is back to 0
  const [row] = await db.query<{ attempts: number }>(`select attempts from uploads where filename = 'records.jsonl'`);
  assert.equal(row?.attempts, 1, 'one start, the one that finished');
});

test('before a byte is stored: the contributor must have bonded the stake, and stay within its quota (429 with Retry-After)', async () => {
  const staked = await createDatanet(ctx, t.accounts[1]!.address, parseDefinition({ name: 'staked-lines', licence: 'MIT', contributionStake: '1000' }));
  await assert.rejects(checkUploadAllowed(ctx, staked.id!, contributor), (e: Error & { code?: string }) => e.code === 'insufficient_stake');
  const someone = t.accounts[3]!.address;
  await checkUploadAllowed(ctx, datanet.id!, someone);
  const { hash } = await ctx.blobs.put(new TextEncoder().encode('x\n'));
  for (let i = 0; i < MAX_OPEN_UPLOADS_PER_ACCOUNT; i++) await recordUpload(db, { datanetId: datanet.id!, contributor: someone, blobHash: hash, bytes: 2 });
  await assert.rejects(checkUploadAllowed(ctx, datanet.id!, someone), (e: Error & { code?: string; retryAfterSeconds?: number }) => e.code === 'upload_quota' && e.retryAfterSeconds === 10);
  await db.query(`update uploads set status = 'done' where lower(contributor) = lower($1)`, [someone]);
  await checkUploadAllowed(ctx, datanet.id!, someone);
  await recordUpload(db, { datanetId: datanet.id!, contributor: someone, blobHash: hash, bytes: MAX_UPLOAD_BYTES_PER_DAY });
  await db.query(`update uploads set status = 'done' where lower(contributor) = lower($1)`, [someone]);
  await assert.rejects(checkUploadAllowed(ctx, datanet.id!, someone), (e: Error & { code?: string; retryAfterSeconds?: number }) => e.code === 'upload_quota' && e.retryAfterSeconds === 3600 && /in the last 24 hours/.test(e.message));
});
