import type { FastifyInstance } from 'fastify';
import type { Address } from 'viem';
import { z } from 'zod';
import type { DatanetContext } from '../../datanet/context.ts';
import { getDatanet } from '../../datanet/datanets.ts';
import type { Queryable } from '../../store/database.ts';
import type { DatanetEarnings, DatanetStats } from './datanet-stats-types.ts';

const params = z.object({ id: z.coerce.number().int().positive() });

/**
 * Counts of a datanet's contributions, contributors, uploads and snapshots, and the published
 * models trained on its snapshots.
 *
 * @example
 * const s = await datanetStats(db, 1);
 */
export async function datanetStats(db: Queryable, datanetId: number): Promise<DatanetStats> {
  const [counts] = await db.query<{ accepted: string; pending: string; rejected: string; contributors: string; accepted_contributors: string }>(
    `select count(*) filter (where status = 'accepted')::text as accepted,
            count(*) filter (where status = 'pending')::text as pending,
            count(*) filter (where status = 'rejected')::text as rejected,
            count(distinct lower(contributor))::text as contributors,
            count(distinct lower(contributor)) filter (where status = 'accepted')::text as accepted_contributors
       from contributions where datanet_id = $1`,
    [datanetId],
  );
  const [uploads] = await db.query<{ uploads: string; rejections: string }>(
    `select (select count(*) from uploads where datanet_id = $1)::text as uploads,
            (select count(*) from upload_rejections r join uploads u on u.id = r.upload_id where u.datanet_id = $1)::text as rejections`,
    [datanetId],
  );
  const [snapshots] = await db.query<{ total: string; recorded: string }>(
    `select count(*)::text as total, count(*) filter (where status = 'recorded')::text as recorded from snapshots where datanet_id = $1`,
    [datanetId],
  );
  const models = await db.query<{ id: string; model_name: string; model_id: string | null; owner: string; snapshot_ids: string[]; finished_at: Date | null }>(
    `select id, model_name, model_id, owner, snapshot_ids::text[] as snapshot_ids, finished_at from training_jobs
      where status = 'succeeded' and snapshot_ids && (select coalesce(array_agg(id), '{}'::bigint[]) from snapshots where datanet_id = $1)
      order by finished_at desc nulls last`,
    [datanetId],
  );
  const n = (s: string | undefined) => Number(s ?? 0);
  const c = { accepted: n(counts?.accepted), pending: n(counts?.pending), rejected: n(counts?.rejected) };
  return {
    datanetId,
    contributions: { ...c, total: c.accepted + c.pending + c.rejected },
    intakeRejections: n(uploads?.rejections),
    uploads: n(uploads?.uploads),
    contributors: n(counts?.contributors),
    acceptedContributors: n(counts?.accepted_contributors),
    snapshots: { total: n(snapshots?.total), recorded: n(snapshots?.recorded) },
    models: models.map((m) => ({
      name: m.model_name,
      modelId: m.model_id,
      jobId: m.id,
      owner: m.owner as Address,
      snapshotIds: m.snapshot_ids.map(Number),
      finishedAt: m.finished_at?.toISOString() ?? null,
    })),
  };
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

/**
 * Read-only totals of a datanet for its page: `GET /datanets/:id/stats` (contributions by status,
 * contributors, uploads, snapshots, models trained on it) and `GET /datanets/:id/earnings` (what
 * settled epochs paid its owner and contributors). 404 for an unknown datanet.
 */
export function datanetStatsRoutes(app: FastifyInstance, ctx: Pick<DatanetContext, 'db'>): void {
  app.get('/datanets/:id/stats', async (request) => {
    const datanet = await getDatanet(ctx.db, params.parse(request.params).id);
    return datanetStats(ctx.db, datanet.id!);
  });

  app.get('/datanets/:id/earnings', async (request) => {
    const datanet = await getDatanet(ctx.db, params.parse(request.params).id);
    return datanetEarnings(ctx.db, datanet.id!);
  });
}
