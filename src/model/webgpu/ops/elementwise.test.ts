/**
 * The WebGPU element-wise, bias and embedding kernels against the CPU reference: fill (f32 and
 * i32), copy (lengths, offsets, overlapping ranges of one tensor), axpy (partial n, aliased),
 * scale (including a tensor past 65,535 workgroups, so the 2-D grid), addBias and biasBackward
 * (accumulating), swiglu and its backward (partial n, saturating inputs), embed and embedBackward
 * (repeated ids accumulate), over sizes that are not multiples of the 64-thread workgroup.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, Tensor } from '../../backend.ts';
import { openTestGpu, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';

const { gpu, skip } = await openTestGpu();

// Moves, fills and single f32 operations round identically on both backends up to one rounding
// (the CPU computes a·x + y in double, then rounds once; the GPU may round twice): ≤ 1e-7 of the
// largest value, so 1e-6. The column sums (biasBackward, embedBackward) add rows in the CPU's order.
const EXACT = 1e-6;
// swiglu goes through exp in f32 (a few ulp) against the CPU's double: 1e-5.
const TRANSCENDENTAL = 1e-5;

type Inputs = Record<string, Float32Array | Int32Array>;
type Op = (be: Backend, t: Record<string, Tensor>) => void;

/** Runs `op` on both backends and asserts every output agrees within `tolerance`. */
async function check(t: { diagnostic(m: string): void }, inputs: Inputs, op: Op, outputs: string[], tolerance: number): Promise<void> {
  const [g, c] = await onBoth(gpu as Backend, inputs, op, outputs);
  for (const name of outputs) {
    const err = maxRelativeError(g[name]!, c[name]!);
    t.diagnostic(`${name}: max relative error ${err.toExponential(2)}`);
    assert.ok(err <= tolerance, `${name}: max relative error ${err} > ${tolerance}`);
  }
}

const ids = (n: number, rows: number, seed: number) => Int32Array.from(randomArray(n, seed), (r) => Math.floor(((r + 1) / 2) * rows) % rows);

for (const n of [1, 63, 65, 1000]) {
  test(`fill, scale and axpy match the CPU (n=${n})`, { skip }, async (t) => {
    await check(t, { a: randomArray(n, 1), b: randomArray(n, 2) }, (be, x) => be.fill(x.a!, 0.375), ['a'], EXACT);
    await check(t, { a: randomArray(n, 3) }, (be, x) => be.fill(x.a!, 0), ['a'], EXACT);
    await check(t, { a: randomArray(n, 4, 3) }, (be, x) => be.scale(x.a!, -1.7), ['a'], EXACT);
    await check(t, { y: randomArray(n, 5), x: randomArray(n, 6) }, (be, x) => be.axpy(x.y!, x.x!, 0.3), ['y', 'x'], EXACT);
    // first n of a longer x and y: the rest of y is untouched
    await check(t, { y: randomArray(n + 9, 7), x: randomArray(n + 5, 8) }, (be, x) => be.axpy(x.y!, x.x!, -2.5, n), ['y'], EXACT);
    await check(t, { y: randomArray(n, 9) }, (be, x) => be.axpy(x.y!, x.y!, 0.25), ['y'], EXACT);
  });
}

test('fill writes integers into an i32 tensor', { skip }, async (t) => {
  await check(t, { ids: new Int32Array(70).fill(3) }, (be, x) => be.fill(x.ids!, -1), ['ids'], 0);
});

test('scale over more than 65,535 workgroups (2-D grid)', { skip }, async (t) => {
  const n = 65_535 * 64 + 100;
  await check(t, { a: randomArray(n, 10) }, (be, x) => be.scale(x.a!, 0.5), ['a'], EXACT);
});

test('copy matches the CPU: whole, lengths and offsets', { skip }, async (t) => {
  const src = randomArray(100, 11), dst = randomArray(130, 12);
  await check(t, { dst: randomArray(100, 13), src }, (be, x) => be.copy(x.dst!, x.src!), ['dst'], EXACT);
  await check(t, { dst, src }, (be, x) => be.copy(x.dst!, x.src!, 67), ['dst'], EXACT);
  await check(t, { dst, src }, (be, x) => be.copy(x.dst!, x.src!, 33, 97, 67), ['dst'], EXACT);
  await check(t, { dst, src }, (be, x) => be.copy(x.dst!, x.src!, 1, 129, 0), ['dst'], EXACT);
  await check(t, { dst, src }, (be, x) => be.copy(x.dst!, x.src!, 0, 5, 5), ['dst'], EXACT);
  // a source range past the end of src is clipped, as the CPU's subarray does
  await check(t, { dst, src }, (be, x) => be.copy(x.dst!, x.src!, 40, 2, 90), ['dst'], EXACT);
  await check(t, { dst, src }, (be, x) => be.copy(x.dst!, x.src!, undefined, 30, 10), ['dst'], EXACT);
});

test('copy moves i32 tensors bit for bit (the CPU backend copies only f32)', { skip }, async () => {
  const be = gpu as Backend;
  const values = Int32Array.from({ length: 50 }, (_, i) => i * 7 - 100);
  const a = be.upload(values), b = be.upload(new Int32Array(60));
  be.copy(b, a, 45, 15, 5);
  const expected = new Int32Array(60);
  expected.set(values.subarray(5, 50), 15);
  assert.deepEqual([...(await be.read(b))], [...expected]);
  const f = be.zeros(60);
  assert.throws(() => be.copy(b, f), TypeError);
  for (const x of [a, b, f]) be.free(x);
});

test('copy within one tensor moves overlapping ranges as memmove does', { skip }, async (t) => {
  await check(t, { a: randomArray(200, 14) }, (be, x) => be.copy(x.a!, x.a!, 150, 10, 0), ['a'], EXACT);
  await check(t, { a: randomArray(200, 15) }, (be, x) => be.copy(x.a!, x.a!, 150, 0, 10), ['a'], EXACT);
  await check(t, { a: randomArray(200, 16) }, (be, x) => be.copy(x.a!, x.a!, 100, 3, 3), ['a'], EXACT);
});

test('copy rejects destination overruns and offsets outside the tensors', { skip }, () => {
  const be = gpu as Backend;
  const a = be.zeros(10), b = be.zeros(20);
  assert.throws(() => be.copy(a, b), RangeError);
  assert.throws(() => be.copy(a, b, 5, 6, 0), RangeError);
  assert.throws(() => be.copy(b, a, 5, 0, 11), RangeError);
  assert.throws(() => be.copy(b, a, 5, -1, 0), RangeError);
  be.free(a);
  be.free(b);
});

for (const [T, n] of [[1, 1], [7, 33], [65, 70], [3, 200]] as const) {
  test(`addBias and biasBackward match the CPU (T=${T}, n=${n})`, { skip }, async (t) => {
    await check(t, { out: randomArray(T * n, 20), bias: randomArray(n, 21) }, (be, x) => be.addBias(x.out!, x.bias!, T, n), ['out'], EXACT);
    // dBias starts non-zero: the sums accumulate
    await check(t, { dBias: randomArray(n, 22), dOut: randomArray(T * n, 23) }, (be, x) => be.biasBackward(x.dBias!, x.dOut!, T, n), ['dBias'], EXACT);
  });
}

for (const n of [1, 64, 333, 2000]) {
  test(`swiglu and swigluBackward match the CPU (n=${n})`, { skip }, async (t) => {
    const gate = randomArray(n + 3, 30 + n, 8);
    const up = randomArray(n + 3, 31, 2);
    // only the first n are computed; the garbage past them must stay
    await check(t, { out: randomArray(n + 3, 32), gate, up }, (be, x) => be.swiglu(x.out!, x.gate!, x.up!, n), ['out'], TRANSCENDENTAL);
    const inputs = { dGate: randomArray(n + 3, 33), dUp: randomArray(n + 3, 34), dOut: randomArray(n + 3, 35), gate, up };
    await check(t, inputs, (be, x) => be.swigluBackward(x.dGate!, x.dUp!, x.dOut!, x.gate!, x.up!, n), ['dGate', 'dUp'], TRANSCENDENTAL);
  });
}

for (const n of [1, 333]) {
  test(`geglu and gegluBackward match the CPU (n=${n})`, { skip }, async (t) => {
    const gate = randomArray(n + 3, 40 + n, 8);
    const up = randomArray(n + 3, 41, 2);
    await check(t, { out: randomArray(n + 3, 42), gate, up }, (be, x) => be.geglu(x.out!, x.gate!, x.up!, n), ['out'], TRANSCENDENTAL);
    const inputs = { dGate: randomArray(n + 3, 43), dUp: randomArray(n + 3, 44), dOut: randomArray(n + 3, 45), gate, up };
    await check(t, inputs, (be, x) => be.gegluBackward(x.dGate!, x.dUp!, x.dOut!, x.gate!, x.up!, n), ['dGate', 'dUp'], TRANSCENDENTAL);
  });
}

test('swiglu and swigluBackward match the CPU where exp saturates', { skip }, async (t) => {
  // exp(−x) underflows (x ≫ 0) or would overflow f32 (x ≪ 0: the argument is capped at 80)
  const gate = Float32Array.from([120, -120, 88, -88, 90, -90, 0, 1e-8, -1e-8, 30, -30]);
  const n = gate.length, up = randomArray(n, 36, 2);
  await check(t, { out: new Float32Array(n), gate, up }, (be, x) => be.swiglu(x.out!, x.gate!, x.up!, n), ['out'], TRANSCENDENTAL);
  const inputs = { dGate: new Float32Array(n), dUp: new Float32Array(n), dOut: randomArray(n, 37), gate, up };
  await check(t, inputs, (be, x) => be.swigluBackward(x.dGate!, x.dUp!, x.dOut!, x.gate!, x.up!, n), ['dGate', 'dUp'], TRANSCENDENTAL);
});

for (const [T, d, rows] of [[1, 1, 1], [9, 33, 5], [70, 20, 11], [16, 96, 300]] as const) {
  test(`embed and embedBackward match the CPU (T=${T}, d=${d}, rows=${rows})`, { skip }, async (t) => {
    const tokenIds = ids(T, rows, 40 + T); // T > rows: ids repeat, so embedBackward must not race
    await check(t, { out: randomArray(T * d, 41), ids: tokenIds, table: randomArray(rows * d, 42) }, (be, x) => be.embed(x.out!, x.ids!, x.table!, T, d), ['out'], 0);
    const inputs = { dTable: randomArray(rows * d, 43), ids: tokenIds, dOut: randomArray(T * d, 44) };
    await check(t, inputs, (be, x) => be.embedBackward(x.dTable!, x.ids!, x.dOut!, T, d), ['dTable'], EXACT);
  });
}

test('embed writes zeros for ids outside the table, and embedBackward skips them', { skip }, async () => {
  const be = gpu as Backend;
  const d = 3;
  const table = be.upload(Float32Array.from({ length: 2 * d }, (_, i) => i + 1));
  const tokenIds = be.upload(Int32Array.from([1, -1, 2, 0]));
  const out = be.upload(new Float32Array(4 * d).fill(9));
  be.embed(out, tokenIds, table, 4, d);
  assert.deepEqual([...(await be.read(out))], [4, 5, 6, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
  const ones = be.upload(new Float32Array(4 * d).fill(1));
  be.embedBackward(table, tokenIds, ones, 4, d);
  assert.deepEqual([...(await be.read(table))], [2, 3, 4, 5, 6, 7]);
  for (const x of [table, tokenIds, out, ones]) be.free(x);
});
