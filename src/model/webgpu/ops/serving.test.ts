/**
 * The WebGPU serving kernels against the CPU reference: per-row LoRA with several adapters of
 * different ranks interleaved with adapter-less rows, KV-cache writes into scattered slots (and
 * the GPU's skipping of out-of-range slots), and paged attention over a shuffled block table
 * with rows of different lengths, grouped-query heads, and more than one 64-position tile.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Backend } from '../../backend.ts';
import { gpuBackendOrReason, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';

const gpu = await gpuBackendOrReason();
const skip = typeof gpu === 'string' ? gpu : false;
after(async () => {
  if (typeof gpu !== 'string') await gpu.dispose();
});
const backend = (): Backend => {
  if (typeof gpu === 'string') throw new Error(gpu);
  return gpu;
};

// Products of ≤ 100 terms (LoRA) and softmax-weighted sums (attention) in f32 against the CPU's
// double accumulators: errors of a few ulps of the largest value; 1e-4 leaves margin while any
// indexing or masking error shows up at order 1e-1 or more.
const TOLERANCE = 1e-4;

test('loraRows applies each row its own adapter, grouped, and leaves null rows alone', { skip }, async () => {
  const inDim = 37, outDim = 29, rows = 9;
  const r1 = 4, r2 = 3, r3 = 1;
  const inputs = {
    y: randomArray(rows * outDim, 1), x: randomArray(rows * inDim, 2),
    a1: randomArray(r1 * inDim, 3), b1: randomArray(outDim * r1, 4),
    a2: randomArray(r2 * inDim, 5), b2: randomArray(outDim * r2, 6),
    a3: randomArray(r3 * inDim, 7), b3: randomArray(outDim * r3, 8),
  };
  const [g, c] = await onBoth(backend(), inputs, (be, t) => {
    const ad1 = { a: t.a1!, b: t.b1!, r: r1, scale: 2 }, ad2 = { a: t.a2!, b: t.b2!, r: r2, scale: 0.5 };
    const ad3 = { a: t.a3!, b: t.b3!, r: r3, scale: -1.5 };
    be.loraRows(t.y!, t.x!, [ad1, null, ad2, ad1, null, ad3, ad2, ad1, ad2], inDim, outDim);
  }, ['y']);
  const err = maxRelativeError(g.y!, c.y!);
  assert.ok(err < TOLERANCE, `max relative error ${err}`);
  // the null rows are untouched
  for (const row of [1, 4]) assert.deepEqual(g.y!.subarray(row * outDim, (row + 1) * outDim), inputs.y.subarray(row * outDim, (row + 1) * outDim));
});

test('loraRows over a wide input (several reduction strides) and with no adapter at all', { skip }, async () => {
  const inDim = 200, outDim = 70, rows = 3, r = 8;
  const inputs = { y: randomArray(rows * outDim, 11), x: randomArray(rows * inDim, 12), a: randomArray(r * inDim, 13), b: randomArray(outDim * r, 14) };
  const [g, c] = await onBoth(backend(), inputs, (be, t) => {
    be.loraRows(t.y!, t.x!, [null, { a: t.a!, b: t.b!, r, scale: 0.25 }, { a: t.a!, b: t.b!, r, scale: 0.25 }], inDim, outDim);
  }, ['y']);
  assert.ok(maxRelativeError(g.y!, c.y!) < TOLERANCE, `max relative error ${maxRelativeError(g.y!, c.y!)}`);
  const [g0] = await onBoth(backend(), inputs, (be, t) => be.loraRows(t.y!, t.x!, [null, null, null], inDim, outDim), ['y']);
  assert.deepEqual(g0.y, inputs.y);
});

test('kvWrite copies each row into its slot of both caches', { skip }, async () => {
  const slots = 11, kvd = 12, rows = 5;
  const inputs = {
    kc: randomArray(slots * kvd, 21), vc: randomArray(slots * kvd, 22),
    k: randomArray(rows * kvd, 23), v: randomArray(rows * kvd, 24), slots: Int32Array.from([3, 10, 0, 7, 4]),
  };
  const [g, c] = await onBoth(backend(), inputs, (be, t) => be.kvWrite(t.kc!, t.vc!, t.k!, t.v!, t.slots!, rows, kvd), ['kc', 'vc']);
  assert.deepEqual(g.kc, c.kc);
  assert.deepEqual(g.vc, c.vc);
});

test('kvWrite on the GPU skips slots outside the cache (the CPU backend throws there)', { skip }, async () => {
  const gpuBe = backend();
  const slots = 4, kvd = 6;
  const kc0 = randomArray(slots * kvd, 31), vc0 = randomArray(slots * kvd, 32);
  const k = randomArray(3 * kvd, 33), v = randomArray(3 * kvd, 34);
  const t = { kc: gpuBe.upload(kc0), vc: gpuBe.upload(vc0), k: gpuBe.upload(k), v: gpuBe.upload(v), slots: gpuBe.upload(Int32Array.from([-1, 2, 4])) };
  gpuBe.kvWrite(t.kc, t.vc, t.k, t.v, t.slots, 3, kvd);
  const expectK = kc0.slice(), expectV = vc0.slice();
  expectK.set(k.subarray(kvd, 2 * kvd), 2 * kvd);
  expectV.set(v.subarray(kvd, 2 * kvd), 2 * kvd);
  assert.deepEqual(await gpuBe.read(t.kc), expectK);
  assert.deepEqual(await gpuBe.read(t.vc), expectV);
  for (const x of Object.values(t)) gpuBe.free(x);
});

/** A block table giving each row its own blocks, taken in shuffled order from the cache's blocks. */
function shuffledTables(rows: number, maxBlocks: number, cacheBlocks: number, seed: number): Int32Array {
  const order = Array.from({ length: cacheBlocks }, (_, i) => i);
  const rand = randomArray(cacheBlocks, seed);
  for (let i = cacheBlocks - 1; i > 0; i--) {
    const j = Math.floor(((rand[i]! + 1) / 2) * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return Int32Array.from({ length: rows * maxBlocks }, (_, i) => order[i]!);
}

async function checkPaged(o: { lengths: number[]; nH: number; nKV: number; hd: number; blockSize: number; maxBlocks: number; seed: number }): Promise<number> {
  const { lengths, nH, nKV, hd, blockSize, maxBlocks, seed } = o;
  const rows = lengths.length, kvd = nKV * hd, cacheBlocks = rows * maxBlocks + 3;
  const inputs = {
    out: randomArray(rows * nH * hd, seed), // overwritten
    q: randomArray(rows * nH * hd, seed + 1, 2),
    kc: randomArray(cacheBlocks * blockSize * kvd, seed + 2, 2), vc: randomArray(cacheBlocks * blockSize * kvd, seed + 3),
    tables: shuffledTables(rows, maxBlocks, cacheBlocks, seed + 4), lengths: Int32Array.from(lengths),
  };
  const [g, c] = await onBoth(backend(), inputs, (be, t) => be.pagedAttention(t.out!, t.q!, t.kc!, t.vc!, t.tables!, t.lengths!, rows, nH, nKV, hd, blockSize, maxBlocks), ['out']);
  const err = maxRelativeError(g.out!, c.out!);
  assert.ok(err < TOLERANCE, `paged attention ${JSON.stringify(o)}: max relative error ${err}`);
  return err;
}

test('pagedAttention matches the CPU reference over a shuffled block table', { skip }, async () => {
  // rows of different lengths: one position, a partial block, a block boundary, more than one
  // 64-position tile, an empty sequence (output 0), and the whole table
  await checkPaged({ lengths: [1, 7, 8, 70, 0, 80], nH: 4, nKV: 2, hd: 8, blockSize: 8, maxBlocks: 10, seed: 41 });
  // head width not a multiple of anything, wider than one thread per dim; multi-query (nKV = 1)
  await checkPaged({ lengths: [5, 131, 33], nH: 3, nKV: 1, hd: 90, blockSize: 5, maxBlocks: 27, seed: 51 });
  // one kv head per query head
  await checkPaged({ lengths: [12, 3], nH: 2, nKV: 2, hd: 16, blockSize: 4, maxBlocks: 3, seed: 61 });
});
