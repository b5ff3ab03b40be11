import type { Address } from 'viem';
import type { Queryable } from '../store/database.ts';

/** What settled epochs paid for a datanet: its owner's and its contributors' credits. */
export interface DatanetEarnings {
  datanetId: number;
  /** OPEN wei, decimal strings. */
  total: string;
  datanetOwner: string;
  /** The contributors' share of answers whose attribution abstained (held by the datanet's owner). */
  pool: string;
  contributors: string;
  /** Per settled epoch, oldest first. */
  epochs: Array<{ epoch: number; postedAt: string | null; datanetOwner: string; pool: string; contributors: string }>;
  /** The best-paid payees, most first (at most 50). */
  payees: Array<{ payee: Address; role: 'datanet_owner' | 'datanet_pool' | 'contributor'; amount: string }>;
}

/**
 * The datanet-owner, pool and contributor credits of the settled (posted, not reverted) epochs for
 * a datanet: totals, per epoch, and the best-paid payees. The pool holds the contributors' share of
 * answers whose attribution abstained.
 *
 * @example
 * const e = await datanetEarnings(db, 1); // e.total is OPEN wei
 */
export async function datanetEarnings(db: Queryable, datanetId: number): Promise<DatanetEarnings> {
  const settled = `from epoch_credits c join settlement_epochs e using (epoch)
    where e.status = 'posted' and c.datanet_id = $1 and c.role in ('datanet_owner', 'datanet_pool', 'contributor')`;
  const epochs = await db.query<{ epoch: number; posted_at: Date | null; owner: string; pool: string; contributors: string }>(
    `select c.epoch, e.posted_at,
            coalesce(sum(c.amount) filter (where c.role = 'datanet_owner'), 0)::text as owner,
            coalesce(sum(c.amount) filter (where c.role = 'datanet_pool'), 0)::text as pool,
            coalesce(sum(c.amount) filter (where c.role = 'contributor'), 0)::text as contributors
       ${settled} group by c.epoch, e.posted_at order by c.epoch`,
    [datanetId],
  );
  const payees = await db.query<{ payee: string; role: DatanetEarnings['payees'][number]['role']; amount: string }>(
    `select c.payee, c.role, sum(c.amount)::text as amount ${settled} group by c.payee, c.role order by sum(c.amount) desc, c.payee limit 50`,
    [datanetId],
  );
  let owner = 0n, pool = 0n, contributors = 0n;
  for (const e of epochs) {
    owner += BigInt(e.owner);
    pool += BigInt(e.pool);
    contributors += BigInt(e.contributors);
  }
  return {
    datanetId,
    total: (owner + pool + contributors).toString(),
    datanetOwner: owner.toString(),
    pool: pool.toString(),
    contributors: contributors.toString(),
    epochs: epochs.map((e) => ({ epoch: e.epoch, postedAt: e.posted_at?.toISOString() ?? null, datanetOwner: e.owner, pool: e.pool, contributors: e.contributors })),
    payees: payees.map((p) => ({ payee: p.payee as Address, role: p.role, amount: p.amount })),
  };
}
