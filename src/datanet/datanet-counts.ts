import type { Queryable } from '../store/database.ts';

/** What a datanet holds: its contributions by status, contributors, uploads and snapshots. */
export interface DatanetCounts {
  /** Stored contributions by status (curator rejections count as rejected). */
  contributions: { accepted: number; pending: number; rejected: number; total: number };
  /** Records of uploads turned away before becoming contributions (parse errors, schema, duplicates…). */
  intakeRejections: number;
  uploads: number;
  /** Distinct contributors of any stored contribution, and of accepted ones. */
  contributors: number;
  acceptedContributors: number;
  snapshots: { total: number; recorded: number };
}

/**
 * Counts of a datanet's contributions, contributors, uploads and snapshots.
 *
 * @example
 * const c = await datanetCounts(db, 1); // c.contributions.accepted
 */
export async function datanetCounts(db: Queryable, datanetId: number): Promise<DatanetCounts> {
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
  const n = (s: string | undefined) => Number(s ?? 0);
  const c = { accepted: n(counts?.accepted), pending: n(counts?.pending), rejected: n(counts?.rejected) };
  return {
    contributions: { ...c, total: c.accepted + c.pending + c.rejected },
    intakeRejections: n(uploads?.rejections),
    uploads: n(uploads?.uploads),
    contributors: n(counts?.contributors),
    acceptedContributors: n(counts?.accepted_contributors),
    snapshots: { total: n(snapshots?.total), recorded: n(snapshots?.recorded) },
  };
}
