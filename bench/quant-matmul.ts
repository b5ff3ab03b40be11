/**
 * Quantised-weight matmul benchmark: decode-shaped products y = x·Wᵀ (`nt`, W [n, k] as a GGUF
 * [out, in] weight) for m = 1 and 16 rows, with W in f32 (the baseline, same run) and kept as
 * Q8_0 / Q4_0 / Q4_K / Q6_K ggml blocks (`src/model/cpu/matmul-quant.ts`), on one thread and on the
 * worker pool. Prints GFLOP/s (2·m·k·n / time) and the GB/s of weight bytes streamed, medians.
 * Then the memory a quantised layer takes in the engine (on the kernels' heap, loaded from a GGUF
 * file through `ggufTensorBytes` → `uploadQuantized`) against the file's bytes.
 *
 * Run: `npm run bench -- quant-matmul` (options: --repeats=5 --threads=N --seed=1)
 */
import { createBackend } from '../src/model/create-backend.ts';
import { matmul, matmulQuantized } from '../src/model/cpu/matmul.ts';
import type { QuantOperand } from '../src/model/cpu/matmul.ts';
import { sharedHeap } from '../src/model/cpu/matmul-heap.ts';
import { MatmulPool, allocShared, defaultThreadCount, freeShared } from '../src/model/cpu/matmul-pool.ts';
import { QUANT_FORMATS, quantize } from '../src/model/ggml-quants.ts';
import type { QuantType } from '../src/model/ggml-quants.ts';
import { ggufTensorBytes, parseGguf, serializeGguf } from '../src/model/gguf.ts';
import { generator } from './_random.ts';

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const repeats = Number(arg('repeats', '5'));
const threads = Number(arg('threads', String(defaultThreadCount())));
const seed = Number(arg('seed', '1'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median seconds per call over `repeats` runs, each repeating `fn` until ~30 ms have passed. */
function timed(fn: () => void, minRunS = 0.03): number {
  fn();
  const probe = performance.now();
  fn();
  const reps = Math.max(1, Math.ceil(minRunS / Math.max((performance.now() - probe) / 1000, 1e-7)));
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    times.push((performance.now() - t0) / 1000 / reps);
  }
  return median(times);
}

const random = generator(seed);
const fill = (x: Float32Array) => {
  for (let i = 0; i < x.length; i++) x[i] = random() - 0.5;
  return x;
};
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const types: QuantType[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/** Quantised bytes copied onto the heap (where the backend keeps them). */
function onHeap(bytes: Uint8Array): { bytes: Uint8Array; block: Float32Array } {
  const block = allocShared(Math.ceil(bytes.length / 4));
  const view = new Uint8Array(block.buffer, block.byteOffset, bytes.length);
  view.set(bytes);
  return { bytes: view, block };
}

const pool = new MatmulPool({ threads });
await new Promise((resolve) => setTimeout(resolve, 300)); // let the workers start

console.log(`node ${process.version}; pool = ${pool.threads} threads (caller + ${pool.threads - 1} workers); median of ${repeats} runs; ` +
  `GFLOP/s = 2·m·k·n / time; GB/s = bytes of W / time`);
console.log('');

// (k, n): SmolLM2-135M's q/o-free shapes (576 ↔ 1536) and Qwen2-0.5B's MLP (896 ↔ 4864)
const shapes = [[576, 1536], [1536, 576], [896, 4864], [4864, 896]] as const;
const table: string[][] = [['k×n', 'm', 'type', 'W bytes', '1 thread GFLOP/s', 'GB/s', `pool ×${pool.threads} GFLOP/s`, 'GB/s', '1t vs F32', 'pool vs F32']];
for (const [k, n] of shapes) {
  const wf = fill(allocShared(n * k));
  const quants = new Map(types.filter((t) => k % QUANT_FORMATS[t].block === 0).map((t) => [t, onHeap(quantize(t, wf))]));
  for (const m of [1, 16]) {
    const a = fill(allocShared(m * k)), c = allocShared(m * n);
    const base = { one: timed(() => matmul(c, a, wf, m, k, n, 'nt')), pool: timed(() => pool.matmul(c, a, wf, m, k, n, 'nt')) };
    const row = (type: string, bytes: number, one: number, many: number) => [`${k}×${n}`, String(m), type, `${(bytes / 2 ** 20).toFixed(2)} MiB`,
      fmt((2 * m * k * n) / one / 1e9), fmt(bytes / one / 1e9), fmt((2 * m * k * n) / many / 1e9), fmt(bytes / many / 1e9), `${fmt(base.one / one)}×`, `${fmt(base.pool / many)}×`];
    table.push(row('F32', 4 * n * k, base.one, base.pool));
    for (const type of types) {
      const q = quants.get(type);
      if (!q) {
        table.push([`${k}×${n}`, String(m), type, `n/a: k = ${k} is not whole ${QUANT_FORMATS[type].block}-element blocks`, '', '', '', '', '', '']);
        continue;
      }
      const w: QuantOperand = { type, rows: n, cols: k, bytes: q.bytes };
      table.push(row(type, q.bytes.length, timed(() => matmulQuantized(c, a, w, m, k, n, 'nt')), timed(() => pool.matmulQuantized(c, a, w, m, k, n, 'nt'))));
    }
    freeShared(a);
    freeShared(c);
  }
  for (const q of quants.values()) freeShared(q.block);
  freeShared(wf);
}
printTable(table);
await pool.dispose();

console.log('');
console.log('Memory: the seven matrices of one Llama layer (hidden 768, 12/4 heads of 64, MLP 2048: rows of whole 256-element');
console.log('blocks) written to a GGUF file, then loaded into the engine from the file bytes (ggufTensorBytes → uploadQuantized)');
const layer: Array<[string, number, number]> = [['attn_q', 768, 768], ['attn_k', 256, 768], ['attn_v', 256, 768], ['attn_output', 768, 768],
  ['ffn_gate', 2048, 768], ['ffn_up', 2048, 768], ['ffn_down', 768, 2048]];
const backend = createBackend({ threads: 1 });
const heap = sharedHeap();
const memory: string[][] = [['type', 'GGUF file bytes', 'tensor data', 'engine heap bytes', 'engine / file', 'engine / F32 in engine']];
const f32Bytes = layer.reduce((s, [, r, c]) => s + 4 * r * c, 0);
for (const type of types) {
  const file = serializeGguf({ metadata: new Map(), tensors: layer.map(([name, rows, cols]) => ({ name: `blk.0.${name}.weight`, shape: [rows, cols], type, data: fill(new Float32Array(rows * cols)) })) });
  const parsed = parseGguf(file);
  const before = heap.usedBytes;
  const tensors = parsed.tensors.map((info) => backend.uploadQuantized(ggufTensorBytes(file, info)));
  const used = heap.usedBytes - before;
  const data = parsed.tensors.reduce((s, t) => s + t.byteLength!, 0);
  memory.push([type, String(file.length), String(data), String(used), `${(used / file.length).toFixed(4)}×`, `${(used / f32Bytes).toFixed(3)}×`]);
  for (const t of tensors) backend.free(t);
}
printTable(memory);
await backend.dispose();

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  for (const row of rows) console.log(row.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
}
