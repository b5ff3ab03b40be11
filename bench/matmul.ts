/**
 * CPU matmul benchmark: GFLOP/s of the model engine's kernels (`src/model/cpu/`) on the shapes
 * a Llama-style model trains with: a naive triple loop (the baseline, same run), the pure-JS
 * blocked kernel, the WebAssembly SIMD kernel on one thread (in place on the shared heap, and on
 * plain arrays it copies), and the worker pool. Then the pool's overhead on small products (how
 * its single-thread threshold was chosen).
 *
 * Run: `npm run bench -- matmul` (options: --repeats=5 --threads=N --seed=1)
 */
import type { MatmulLayout } from '../src/model/backend.ts';
import { matmul } from '../src/model/cpu/matmul.ts';
import { naiveMatmul as naive } from '../src/model/cpu/naive-matmul.ts';
import { matmulRowsJs } from '../src/model/cpu/matmul-js.ts';
import { MatmulPool, allocShared, defaultThreadCount, freeShared } from '../src/model/cpu/matmul-pool.ts';
import { BLOCKING, TILE } from '../src/model/cpu/matmul-wasm.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const repeats = Number(arg('repeats', '5'));
const threads = Number(arg('threads', String(defaultThreadCount())));
const seed = Number(arg('seed', '1'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median seconds per call of `fn` over `runs` runs, each repeating it until ~`minRunS` has passed. */
function timed(fn: () => void, runs = repeats, minRunS = 0.05): number {
  fn(); // warm-up (JIT, page faults)
  let reps = 1;
  const probe = performance.now();
  fn();
  const once = (performance.now() - probe) / 1000;
  reps = Math.max(1, Math.ceil(minRunS / Math.max(once, 1e-7)));
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    times.push((performance.now() - t0) / 1000 / reps);
  }
  return median(times);
}

interface Shape {
  name: string;
  layout: MatmulLayout;
  m: number;
  k: number;
  n: number;
}

const T = 2048, d = 768, r = 8;
const shapes: Shape[] = [
  { name: '512³', layout: 'nn', m: 512, k: 512, n: 512 },
  { name: 'Linear fwd x·Wᵀ', layout: 'nt', m: 2048, k: 256, n: 768 },
  { name: 'Linear fwd x·Wᵀ', layout: 'nt', m: 2048, k: 768, n: 2048 },
  { name: 'Linear dX = dY·W', layout: 'nn', m: 2048, k: 2048, n: 768 },
  { name: 'grad dW = dYᵀ·X (1024 rows)', layout: 'tn', m: 768, k: 1024, n: 768 },
  { name: 'LoRA x·Aᵀ (r=8)', layout: 'nt', m: T, k: d, n: r },
  { name: 'LoRA h·Bᵀ (r=8)', layout: 'nt', m: T, k: r, n: d },
  { name: 'LoRA dH = dY·B', layout: 'nn', m: T, k: d, n: r },
  { name: 'LoRA dX += dH·A', layout: 'nn', m: T, k: r, n: d },
  { name: 'LoRA dB = dYᵀ·H', layout: 'tn', m: d, k: T, n: r },
  { name: 'LoRA dA = dHᵀ·X', layout: 'tn', m: r, k: T, n: d },
];

const random = generator(seed);
const fill = (x: Float32Array) => {
  for (let i = 0; i < x.length; i++) x[i] = random() - 0.5;
  return x;
};
const gflops = (s: Shape, seconds: number) => (2 * s.m * s.k * s.n) / seconds / 1e9;
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

const pool = new MatmulPool({ threads });
await new Promise((resolve) => setTimeout(resolve, 300)); // let the workers start

console.log(`node ${process.version}; ${threads} threads for the pool (caller + ${threads - 1} workers); tile ${TILE.mr}×${TILE.nr}, ` +
  `blocking kc=${BLOCKING.kc} mc=${BLOCKING.mc} nc=${BLOCKING.nc}; median of ${repeats} runs; GFLOP/s = 2·m·k·n / time`);
console.log('');
const table: string[][] = [['shape', 'layout', 'm×k×n', 'naive', 'JS blocked', 'wasm 1 thread', 'wasm, plain arrays', `pool ×${threads}`, 'wasm / naive', 'pool / naive', 'pool / wasm']];
for (const s of shapes) {
  const a = fill(allocShared(s.m * s.k)), b = fill(allocShared(s.k * s.n)), c = allocShared(s.m * s.n);
  const pa = a.slice(), pb = b.slice(), pc = new Float32Array(s.m * s.n);
  // The naive loop on the large shapes takes seconds: fewer runs there.
  const tNaive = timed(() => naive(c, a, b, s.m, s.k, s.n, s.layout), Math.min(repeats, 3), 0);
  const tJs = timed(() => matmulRowsJs(c, a, b, s.m, s.k, s.n, s.layout, false, 1, 0, s.m));
  const tWasm = timed(() => matmul(c, a, b, s.m, s.k, s.n, s.layout));
  const tPlain = timed(() => matmul(pc, pa, pb, s.m, s.k, s.n, s.layout));
  const tPool = timed(() => pool.matmul(c, a, b, s.m, s.k, s.n, s.layout));
  table.push([s.name, s.layout, `${s.m}×${s.k}×${s.n}`, fmt(gflops(s, tNaive)), fmt(gflops(s, tJs)), fmt(gflops(s, tWasm)),
    fmt(gflops(s, tPlain)), fmt(gflops(s, tPool)), `${fmt(tNaive / tWasm)}×`, `${fmt(tNaive / tPool)}×`, `${fmt(tWasm / tPool)}×`]);
  for (const x of [a, b, c]) freeShared(x);
}
printTable(table);

console.log('');
console.log(`Small products (nn, m = k = n): time per call on one thread and split across the pool (no threshold)`);
const eager = new MatmulPool({ threads, minFlops: 0 });
await new Promise((resolve) => setTimeout(resolve, 300));
const small: string[][] = [['m=k=n', 'MFLOP', 'wasm 1 thread µs', `pool ×${threads} µs`, 'pool / wasm']];
for (const size of [16, 32, 48, 64, 80, 96, 128, 192, 256]) {
  const a = fill(allocShared(size * size)), b = fill(allocShared(size * size)), c = allocShared(size * size);
  const t1 = timed(() => matmul(c, a, b, size, size, size, 'nn'), repeats, 0.1);
  const tp = timed(() => eager.matmul(c, a, b, size, size, size, 'nn'), repeats, 0.1);
  small.push([String(size), (2 * size ** 3 / 1e6).toFixed(2), (t1 * 1e6).toFixed(1), (tp * 1e6).toFixed(1), `${fmt(t1 / tp)}×`]);
  for (const x of [a, b, c]) freeShared(x);
}
printTable(small);
await eager.dispose();
await pool.dispose();

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}
