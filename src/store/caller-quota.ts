import { CodedError } from '../util/coded-error.ts';
import type { Database } from './database.ts';

/** Refused: the caller used its allowance of an action; `retryAfterSeconds` goes in the Retry-After header. */
export class QuotaExceededError extends CodedError {
  override name = 'QuotaExceededError';
  readonly retryAfterSeconds: number;
  constructor(caller: string, action: string, limit: number, windowSeconds: number, retryAfterSeconds: number) {
    super('quota_exceeded', `${caller} used its allowance of ${limit} ${action} per ${windowSeconds / 3600} h on this node; retry in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** An allowance: at most `count` actions in any `windowSeconds`. */
export interface Allowance {
  count: number;
  windowSeconds: number;
}

/**
 * Counts one `action` by `caller` against its allowance, durably (a restart forgets nothing), or
 * throws {@link QuotaExceededError} (429) saying when the oldest action in the window leaves it.
 * Concurrent calls for one caller and action are serialised by a transaction-scoped advisory lock.
 *
 * @example
 * await useAllowance(db, owner, 'datanet registration', { count: 10, windowSeconds: 86_400 });
 */
export async function useAllowance(db: Database, caller: string, action: string, allowance: Allowance): Promise<void> {
  await db.transaction(async (tx) => {
    const key = `${action}/${caller.toLowerCase()}`;
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [key]);
    await tx.query(`delete from caller_actions where action = $1 and lower(caller) = lower($2) and at <= now() - make_interval(secs => $3)`, [action, caller, allowance.windowSeconds]);
    const [row] = await tx.query<{ n: number; wait: number | null }>(
      `select count(*)::int as n, ceil(extract(epoch from min(at) + make_interval(secs => $3) - now()))::int as wait
       from caller_actions where action = $1 and lower(caller) = lower($2)`,
      [action, caller, allowance.windowSeconds],
    );
    if (row!.n >= allowance.count) throw new QuotaExceededError(caller, action, allowance.count, allowance.windowSeconds, Math.max(1, row!.wait ?? 1));
    await tx.query('insert into caller_actions (caller, action) values ($1, $2)', [caller, action]);
  });
}
