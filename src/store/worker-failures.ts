import type { Database } from './database.ts';

/** What a background worker could not finish, as recorded on the item (`worker_failures`). */
export interface WorkerFailure {
  /** The item, e.g. `register:datanet-key:7`, `anchor:datanet:3`. */
  item: string;
  attempts: number;
  lastError: string;
  failedAt: Date;
  nextAttemptAt: Date;
}

/** Records (or updates) an item's failure. */
export async function recordWorkerFailure(db: Database, item: string, error: unknown, attempts: number, nextAttemptAt: number): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  await db.query(
    `insert into worker_failures (item, attempts, last_error, next_attempt_at) values ($1, $2, $3, to_timestamp($4 / 1000.0))
     on conflict (item) do update set attempts = excluded.attempts, last_error = excluded.last_error, failed_at = now(), next_attempt_at = excluded.next_attempt_at`,
    [item, attempts, message.slice(0, 2000), nextAttemptAt],
  );
}

/** Forgets an item's failure once it succeeded. */
export async function clearWorkerFailure(db: Database, item: string): Promise<void> {
  await db.query('delete from worker_failures where item = $1', [item]);
}

/** The failures on record, oldest first. */
export async function listWorkerFailures(db: Database): Promise<WorkerFailure[]> {
  const rows = await db.query<{ item: string; attempts: number; last_error: string; failed_at: Date; next_attempt_at: Date }>(
    'select item, attempts, last_error, failed_at, next_attempt_at from worker_failures order by failed_at',
  );
  return rows.map((r) => ({ item: r.item, attempts: r.attempts, lastError: r.last_error, failedAt: new Date(r.failed_at), nextAttemptAt: new Date(r.next_attempt_at) }));
}
