import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { privateKeyToAccount } from 'viem/accounts';
import { openDatabase, type Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { checkReceiptSignature, getReceipt, getReceipts, receiptId, ReceiptError, signReceipt, storeReceipt, textHash } from './receipts.ts';
import type { ReceiptBody } from './receipt-types.ts';

const node = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const other = privateKeyToAccount('0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a');
const c = (i: number) => `0x${String(i).repeat(64)}` as const;

const body: ReceiptBody = {
  version: 2, node: node.address, chainId: 31337,
  model: { id: '1', name: 'm', version: 1, baseModel: c(1), adapter: c(2), trace: c(3) },
  input: { hash: textHash('question'), tokens: 5 }, output: { hash: textHash('answer'), tokens: 3 },
  fee: { pricePer1kTokens: '1000', amount: '8', split: { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 } },
  parameters: { spanWeightBps: 5000, thresholdPpm: 10000, evidenceThresholdPpm: 400_000, groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 },
  contributions: [
    { contributionId: c(4), datanetId: 1, sharePpm: 700_000, span: 0.123456789012345, influence: 1 / 3, spans: [[0, 6]], group: { size: 2, others: [c(6)] } },
    { contributionId: c(5), datanetId: 2, sharePpm: 300_000, span: 0, influence: 2 / 3, spans: [], group: { size: 1, others: [] } },
  ],
  pools: [],
  evidence: { coverage: 0.8123, influenceMargin: 6.25, adapterGain: 0.91, scorePpm: 739_193, abstained: false },
  createdAt: '2026-11-23T00:00:00.000Z',
};

let db: Database;
before(async () => {
  db = await openDatabase({ memory: true });
  await migrate(db);
});
after(() => db?.close());

describe('receipts', () => {
  it('are signed by the node over the hash of their canonical body', async () => {
    const r = await signReceipt(node, body);
    assert.equal(r.id, receiptId({ ...body }));
    await checkReceiptSignature(r);
  });

  it('refuse tampering: a changed share, a swapped id, another signer', async () => {
    const r = await signReceipt(node, body);
    const inflated = { ...r, body: { ...body, contributions: [{ ...body.contributions[0]!, sharePpm: 800_000 }, body.contributions[1]!] } };
    await assert.rejects(checkReceiptSignature(inflated), (e: Error) => e instanceof ReceiptError && /not the hash of its body/.test(e.message));
    const forged = await signReceipt(other, body);
    await assert.rejects(checkReceiptSignature({ ...forged }), /signed by .*not by the node/);
    await assert.rejects(checkReceiptSignature({ ...r, id: receiptId({ ...body, createdAt: 'x' }) }), { code: 'bad_receipt' });
  });

  it('are stored once, with their texts and credited contributions, and read back still verifiable', async () => {
    const r = await signReceipt(node, body);
    await storeReceipt(db, r, { prompt: 'question', output: 'answer', consumer: other.address });
    await storeReceipt(db, r, { prompt: 'question', output: 'answer', consumer: other.address });
    const stored = await getReceipt(db, r.id);
    assert.equal(stored.prompt, 'question');
    assert.deepEqual(stored.body, body);
    await checkReceiptSignature(stored);
    const rows = await db.query<{ contribution_id: string; share_ppm: number }>('select contribution_id, share_ppm from receipt_contributions order by share_ppm desc');
    assert.deepEqual(rows.map((x) => [x.contribution_id, x.share_ppm]), [[c(4), 700_000], [c(5), 300_000]]);
    await assert.rejects(getReceipt(db, c(9)), { code: 'not_found' });
    await assert.rejects(getReceipt(db, 'nonsense'), { code: 'not_found' });
  });

  it('are stored with what runs in their transaction (the meter\'s charge) or not at all, and that runs once', async () => {
    const r = await signReceipt(node, { ...body, createdAt: '2026-11-24T00:00:00.000Z' });
    await assert.rejects(storeReceipt(db, r, { prompt: 'q', output: 'a', consumer: null }, async () => {
      throw new Error('the charge failed');
    }), /the charge failed/);
    await assert.rejects(getReceipt(db, r.id), { code: 'not_found' }, 'a receipt whose charge failed is not kept');
    let runs = 0;
    for (let i = 0; i < 2; i++) await storeReceipt(db, r, { prompt: 'q', output: 'a', consumer: null }, async () => void runs++);
    assert.equal(runs, 1, 'storing the same receipt again charges nothing');
    assert.deepEqual((await getReceipts(db, [c(9), r.id])).map((x) => x.id), [r.id]);
  });
});
