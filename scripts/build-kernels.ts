/**
 * Builds the engine's native kernels (`src/model/cpu/native/kernels.c`) into
 * `build/kernels/openledger-kernels.node` with this machine's C compiler, for this machine's CPU
 * (`-march=native`: AVX2 + FMA where the CPU has them, portable C elsewhere). Run by `npm start`
 * and `npm test` before anything else; skipped when the addon is newer than its source and was built
 * on this CPU. Without a compiler it says so and exits 0: the engine then runs its WebAssembly
 * kernels (slower, same results).
 *
 * Run: `npm run build:kernels` (`--force` rebuilds).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const source = join(root, 'src/model/cpu/native/kernels.c');
const output = join(root, 'build/kernels/openledger-kernels.node');
const stamp = `${output}.cpu`;

/** The CPU's model and flags: an addon built with -march=native belongs to that CPU. */
function cpuSignature(): string {
  let info = '';
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch { /* not Linux: the architecture alone */ }
  const pick = (key: string) => info.split('\n').find((l) => l.startsWith(key))?.split(':')[1]?.trim() ?? '';
  return createHash('sha256').update(`${process.arch} ${pick('model name')} ${pick('flags')}`).digest('hex');
}

const cpu = cpuSignature();
const force = process.argv.includes('--force');
if (!force && existsSync(output) && existsSync(stamp) && statSync(output).mtimeMs >= statSync(source).mtimeMs
  && readFileSync(stamp, 'utf8') === cpu) process.exit(0);

let headers: string;
try {
  headers = dirname(createRequire(import.meta.url).resolve('node-api-headers/include/node_api.h'));
} catch {
  console.warn('build-kernels: the node-api-headers package is missing (npm install); the engine will use its WebAssembly kernels');
  process.exit(0);
}
const compiler = process.env.CC ?? 'cc';
mkdirSync(dirname(output), { recursive: true });
const temporary = `${output}.${process.pid}.tmp`;
const started = performance.now();
const run = spawnSync(compiler, ['-std=gnu11', '-O3', '-march=native', '-fPIC', '-shared', '-Wall', '-I', headers, source, '-o', temporary, '-lm', '-lpthread'],
  { encoding: 'utf8' });
if (run.error || run.status !== 0) {
  console.warn(`build-kernels: ${compiler} could not build the native kernels (${run.error?.message ?? run.stderr.trim().split('\n').slice(0, 5).join(' | ')}); the engine will use its WebAssembly kernels`);
  process.exit(0);
}
renameSync(temporary, output);
writeFileSync(stamp, cpu);
let features = '';
try {
  features = (createRequire(import.meta.url)(output) as { features(): string }).features();
} catch (err) {
  console.warn(`build-kernels: the built addon does not load (${err instanceof Error ? err.message : String(err)}); the engine will use its WebAssembly kernels`);
  process.exit(0);
}
console.log(`build-kernels: ${output} (${features}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
