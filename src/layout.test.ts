import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { listMigrations } from './store/migrate.ts';

// The architecture's rule (ARCHITECTURE.md, "Modules"): a module depends only on the modules
// before it in the data's path, for imports and for SQL alike; `api/` and `cli/` compose.

/** The modules in the order of the data's path (util first: every module may use it). */
const ORDER = ['util', 'chain', 'store', 'datanet', 'model', 'factory', 'serve', 'attribution', 'inference', 'settlement', 'skills', 'api', 'client', 'cli'];
const SRC = import.meta.dirname;

/** Every source file under a module folder (tests and their helpers left out), with its module. */
function sources(): Array<{ file: string; module: string; text: string }> {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : []));
  return walk(SRC)
    .filter((f) => !/\.test(-util)?\.ts$/.test(f) && !f.includes('.test-util.') && relative(SRC, f).includes(sep))
    .map((file) => ({ file, module: relative(SRC, file).split(sep)[0]!, text: readFileSync(file, 'utf8') }));
}

test('every module folder has its place in the path', () => {
  const folders = readdirSync(SRC, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  assert.deepEqual(folders.filter((f) => !ORDER.includes(f)), []);
});

test('a module imports only from itself and the modules before it in the path', () => {
  const found: string[] = [];
  for (const { file, module, text } of sources()) {
    for (const [, spec] of text.matchAll(/\bfrom '(\.{1,2}\/[^']+)'/g)) {
      const target = relative(SRC, join(dirname(file), spec!)).split(sep)[0]!;
      if (target === module || !ORDER.includes(target)) continue;
      if (ORDER.indexOf(target) > ORDER.indexOf(module)) found.push(`${relative(SRC, file)} imports ${spec}`);
    }
  }
  assert.deepEqual(found, []);
});

test("a module names only its own tables in SQL; api/ and cli/ name none (they compose the modules' queries)", () => {
  const owner = new Map<string, string>();
  for (const m of listMigrations()) for (const [, table] of m.sql.matchAll(/create table (?:if not exists )?(\w+)/gi)) owner.set(table!, m.module);
  // the event log is read by each module's chain projection, which the store runs in its own transaction (store/chain-events.ts)
  const allowed = (file: string, table: string) => table === 'chain_events' && file.endsWith(`${sep}chain-projection.ts`);
  const found: string[] = [];
  for (const { file, module, text } of sources()) {
    for (const [table, mod] of owner) {
      if (mod === module || allowed(file, table)) continue;
      if (new RegExp(`\\b(from|join|into|update|table)\\s+${table}\\b`, 'i').test(text)) found.push(`${relative(SRC, file)} → ${table} (${mod})`);
    }
  }
  assert.deepEqual(found, []);
});
