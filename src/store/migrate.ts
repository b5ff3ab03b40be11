import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';

/** The source folder whose modules each keep their own migrations in `<module>/migrations`. */
const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One migration file: `NNNN_name.sql`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** The module whose tables it makes or changes (the folder it sits in). */
  module: string;
}

/**
 * The migrations shipped with this version, in order of their version numbers, which run across
 * modules (each module keeps its own beside its code: `src/<module>/migrations/NNNN_name.sql`).
 * Throws if two share a version.
 */
export function listMigrations(sourceDir = SOURCE_DIR): Migration[] {
  const all: Migration[] = [];
  for (const module of readdirSync(sourceDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)) {
    const dir = join(sourceDir, module, 'migrations');
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))) {
      all.push({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: readFileSync(join(dir, f), 'utf8'), module });
    }
  }
  all.sort((a, b) => a.version - b.version);
  for (let i = 1; i < all.length; i++) {
    if (all[i]!.version === all[i - 1]!.version) throw new Error(`migrations ${all[i - 1]!.module}/${all[i - 1]!.name} and ${all[i]!.module}/${all[i]!.name} share version ${all[i]!.version}`);
  }
  return all;
}

/**
 * Applies every migration not yet applied, each in its own transaction, under an advisory lock so
 * that two processes starting at once on one server do not race. Returns the versions applied.
 *
 * @example
 * const applied = await migrate(db);
 */
export async function migrate(db: Database, migrations: Migration[] = listMigrations()): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext('openledger:migrate'))`);
    await tx.query(
      `create table if not exists schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())`,
    );
    const done = new Set((await tx.query<{ version: number }>('select version from schema_migrations')).map((r) => r.version));
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.query(m.sql);
      await tx.query('insert into schema_migrations (version, name) values ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
