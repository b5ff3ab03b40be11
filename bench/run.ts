/**
 * Runs the benchmarks: every `bench/*.ts` file except this one (and files starting with `_`,
 * kept for shared helpers), one after the other, each as a child process of the same node that
 * prints its own results.
 *
 * Usage: npm run bench [-- FILTER... [--OPTION=VALUE...]]
 *   FILTER  run only the files whose name contains one of the filters (e.g. `settlement`)
 *   --...   arguments starting with `--` are passed on to every benchmark that runs
 * Exits non-zero if a benchmark fails or no benchmark matches the filters.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const forwarded = args.filter((a) => a.startsWith('--'));
const filters = args.filter((a) => !a.startsWith('--'));

const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts') && f !== self && !f.startsWith('_'))
  .filter((f) => filters.length === 0 || filters.some((filter) => f.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(`bench: no benchmark matches ${filters.map((f) => `'${f}'`).join(', ') || '(no filter)'}`);
  process.exit(1);
}

/** Runs one benchmark with the same node and flags; resolves to its exit code (1 if killed). */
function runOne(file: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, join(here, file), ...forwarded], { stdio: 'inherit' });
    child.once('error', (err) => {
      console.error(`bench: cannot run ${file}: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const failed: string[] = [];
for (const [i, file] of files.entries()) {
  if (i > 0) console.log('');
  console.log(`=== bench/${file}`);
  const started = Date.now();
  const code = await runOne(file);
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (code === 0) {
    console.log(`=== bench/${file}: ok (${took} s)`);
  } else {
    console.log(`=== bench/${file}: FAILED with exit code ${code} (${took} s)`);
    failed.push(file);
  }
}

if (failed.length > 0) {
  console.error(`\nbench: ${failed.length} of ${files.length} failed: ${failed.join(', ')}`);
  process.exit(1);
}
