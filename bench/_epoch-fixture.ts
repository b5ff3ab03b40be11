/**
 * An epoch's worth of receipts for the settlement benchmarks (epoch-job, network-watchtower): a
 * real chain and store with a trained model, `consumers` funded, deposited and authorised, and
 * `receipts` receipts of that model each crediting up to `contributions` of the datanet's
 * contributions, written in bulk the way storeReceipt and the meter write them. With `sign`, each
 * receipt is signed by the node's account as the node signs them (what an audit checks).
 */
import { parseEther, type Hex } from 'viem';
import type { ReceiptBody } from '../src/attribution/receipt-types.ts';
import { receiptId } from '../src/attribution/receipts.ts';
import { signSpendAuthorization } from '../src/chain/spend-authorization.ts';
import { createFactoryWorker } from '../src/factory/factory-worker.ts';
import { createTrainingJob } from '../src/factory/jobs.ts';
import { BUILDER, startFactoryTestContext, type FactoryTestContext } from '../src/factory/test-context.ts';
import { acceptAuthorization } from '../src/settlement/authorizations.ts';
import { distribute } from '../src/settlement/fee-split.ts';
import { generator } from './_random.ts';

export interface EpochFixture {
  f: FactoryTestContext;
  bodies: ReceiptBody[];
  /** Seconds it took to write (and sign) the receipts. */
  writeSeconds: number;
}

export async function epochFixture(o: { receipts: number; consumers: number; contributions: number; sign?: boolean }): Promise<EpochFixture> {
  const f = await startFactoryTestContext();
  await createTrainingJob(f.ctx, f.addr(BUILDER), { modelName: 'bench-qa', baseModel: 'tiny', snapshotIds: [f.snapshot.id], pricePer1kTokens: parseEther('0.001').toString(), hyperparameters: { epochs: 1, batchSize: 8, sketchDimension: 16, rank: 2, alpha: 4 } });
  await createFactoryWorker(f.ctx).drain();
  const contributions = await f.db.query<{ id: Hex; datanet_id: string }>('select id, datanet_id::text from contributions');
  const node = await f.t.as(0);
  await f.t.mined(node.openToken.write.approve([f.t.addresses.staking, parseEther('1000')]));
  await f.t.mined(node.staking.write.stake([0, 0n, parseEther('1000')]));

  // consumers: funded, deposited, authorised (fixed private keys)
  const { privateKeyToAccount } = await import('viem/accounts');
  const consumers = Array.from({ length: o.consumers }, (_, i) => privateKeyToAccount(`0x${(0xc0ffee + i).toString(16).padStart(64, '0')}` as Hex));
  const deposit = parseEther('100');
  for (const c of consumers) {
    await f.t.mined(node.openToken.write.transfer([c.address, deposit]));
    await f.t.mined(node.openToken.write.approve([f.t.addresses.inferenceEscrow, deposit]));
    await f.t.mined(node.inferenceEscrow.write.deposit([c.address, deposit]));
    const auth = { consumer: c.address, operator: f.addr(0), cumulativeAmount: deposit, nonce: 1n, expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400 * 30) };
    await acceptAuthorization(f.db, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow, client: f.ctx.clients.publicClient }, f.addr(0), auth, await signSpendAuthorization(c, { chainId: 31337, escrow: f.t.addresses.inferenceEscrow }, auth));
  }

  // receipts: written in bulk the way storeReceipt writes them
  const rand = generator(7);
  const split = { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 };
  const signer = f.t.accounts[0]!;
  const t0 = performance.now();
  const bodies: ReceiptBody[] = [];
  for (let start = 0; start < o.receipts; start += 1000) {
    const rows: unknown[] = [];
    const values: string[] = [];
    for (let i = start; i < Math.min(o.receipts, start + 1000); i++) {
      const picked = Array.from({ length: o.contributions }, () => contributions[Math.floor(rand() * contributions.length)]!).filter((c, k, a) => a.findIndex((d) => d.id === c.id) === k);
      const ppm = distribute(1_000_000n, picked.map(() => BigInt(1 + Math.floor(rand() * 100))));
      const tokens = 20 + Math.floor(rand() * 200);
      const body: ReceiptBody = {
        version: 2, node: f.addr(0), chainId: 31337,
        model: { id: '1', name: 'bench-qa', version: 1, baseModel: f.base.id, adapter: '0x00', trace: '0x00' },
        input: { hash: '0x00', tokens: 10 }, output: { hash: '0x00', tokens },
        fee: { pricePer1kTokens: parseEther('0.001').toString(), amount: ((parseEther('0.001') * BigInt(tokens + 10)) / 1000n).toString(), split },
        parameters: { spanWeightBps: 5000, thresholdPpm: 10000, evidenceThresholdPpm: 400_000, groupThreshold: 0.6, influence: 'relatif', damping: 1, nullZ: 3 },
        contributions: picked.map((c, k) => ({ contributionId: c.id, datanetId: Number(c.datanet_id), sharePpm: Number(ppm[k]), span: 0, influence: 0, spans: [], group: { size: 1, others: [] } })),
        pools: [],
        evidence: { coverage: 1, influenceMargin: 0, adapterGain: 1, scorePpm: 1_000_000, abstained: false },
        createdAt: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
      };
      bodies.push(body);
      const id: Hex = o.sign ? receiptId(body) : `0x${i.toString(16).padStart(64, '0')}`;
      const signature = o.sign ? await signer.signMessage({ message: { raw: id } }) : '0x';
      const n = rows.length;
      values.push(`($${n + 1}, 'bench-qa', $${n + 2}, '', '', $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6})`);
      rows.push(id, consumers[i % o.consumers]!.address, JSON.stringify(body), signature, body.fee.amount, body.createdAt);
    }
    // the receipts (attribution's table) and their charges (settlement's), as the meter records them
    await f.db.query(`with r as (select * from (values ${values.join(',')}) as v (id, model_name, consumer, prompt, output, body, signature, fee, created_at)),
      a as (insert into attribution_receipts (id, model_name, consumer, prompt, output, body, signature, created_at) select id, model_name, consumer, prompt, output, body::jsonb, signature, created_at::timestamptz from r)
      insert into settlement_receipts (receipt_id, consumer, fee, created_at) select id, consumer, fee::numeric, created_at::timestamptz from r`, rows);
  }
  return { f, bodies, writeSeconds: (performance.now() - t0) / 1000 };
}
