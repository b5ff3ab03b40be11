import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';

/** Something that runs SQL: the database itself or a transaction on it. */
export interface Queryable {
  /** Runs one statement with `$1…` parameters and returns its rows. */
  query<T extends object = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/** The project's Postgres database: embedded PGlite by default, a server when a URL is given. */
export interface Database extends Queryable {
  kind: 'pglite' | 'postgres';
  /** Runs `fn` in a transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Where the database lives. */
export type DatabaseLocation = { url: string } | { dataDir: string } | { memory: true };

/**
 * Opens the database through node-postgres: PGlite (real Postgres compiled to WebAssembly, in
 * process, files in `dataDir`) by default, or a Postgres server at `url` (`DATABASE_URL`). Both go
 * through the same `pg` driver, so queries, type parsing and transactions behave the same.
 *
 * @example
 * const db = await openDatabase({ dataDir: '.openledger/db' });
 * const [row] = await db.query<{ now: string }>('select now()::text as now');
 */
export async function openDatabase(location: DatabaseLocation): Promise<Database> {
  let pool: pg.Pool;
  let pglite: PGlite | undefined;
  if ('url' in location) {
    pool = new pg.Pool({ connectionString: location.url, max: 10 });
  } else {
    if ('dataDir' in location) mkdirSync(location.dataDir, { recursive: true });
    pglite = await PGlite.create('dataDir' in location ? location.dataDir : 'memory://');
    pool = new pg.Pool(createPgConfig(pglite) as unknown as pg.PoolConfig);
  }
  const query = async <T extends object>(runner: pg.Pool | pg.PoolClient, text: string, params?: unknown[]) =>
    (await runner.query(text, params)).rows as T[];

  // PGlite's node-postgres adapter hands every client the same in-process connection. pool.query
  // destroys the client on an SQL error, which leaves that shared connection out of step: the next
  // answers go to the wrong queries. So on PGlite a query checks the client out and always gives
  // it back intact; an SQL error leaves the connection usable (as it does on a server).
  const run = pglite
    ? async <T extends object>(text: string, params?: unknown[]) => {
        const client = await pool.connect();
        try {
          return await query<T>(client, text, params);
        } finally {
          client.release();
        }
      }
    : <T extends object>(text: string, params?: unknown[]) => query<T>(pool, text, params);

  return {
    kind: pglite ? 'pglite' : 'postgres',
    query: run,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: (text, params) => query(client, text, params) });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
      await pglite?.close();
    },
  };
}
