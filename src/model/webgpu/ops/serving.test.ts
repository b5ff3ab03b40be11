/**
 * The WebGPU serving kernels against the CPU reference: per-row LoRA with several adapters of
 * different ranks interleaved with adapter-less rows, KV-cache writes into scattered slots (and
 * the GPU's skipping of out-of-range slots), and paged attention over a shuffled block table
 * with rows of different lengths, grouped-query heads, and more than one 64-position tile. The
 * batched LoRA path through the adapter pool: many adapters in one call, ranges reused after a
 * free, pooled factors under the other ops (training a served adapter), pools that fill, and the
 * count of dispatches per call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Backend, Tensor } from '../../backend.ts';
import type { AdapterPoolOptions } from '../adapter-pool.ts';
import { requestGpuDevice } from '../gpu-device.ts';
import type { GpuTensor } from '../kernels.ts';
import { cpu, openTestGpu, maxRelativeError, onBoth, randomArray } from '../test-gpu.test-util.ts';
import { createWebGpuBackend } from '../webgpu-backend.ts';

const { skip, backend } = await openTestGpu();

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

async function checkPaged(o: { lengths: number[]; nH: number; nKV: number; hd: number; blockSize: number; maxBlocks: number; seed: number; scale?: number; window?: number }): Promise<number> {
  const { lengths, nH, nKV, hd, blockSize, maxBlocks, seed } = o, scale = o.scale ?? 1 / Math.sqrt(hd), window = o.window ?? 0;
  const rows = lengths.length, kvd = nKV * hd, cacheBlocks = rows * maxBlocks + 3;
  const inputs = {
    out: randomArray(rows * nH * hd, seed), // overwritten
    q: randomArray(rows * nH * hd, seed + 1, 2),
    kc: randomArray(cacheBlocks * blockSize * kvd, seed + 2, 2), vc: randomArray(cacheBlocks * blockSize * kvd, seed + 3),
    tables: shuffledTables(rows, maxBlocks, cacheBlocks, seed + 4), lengths: Int32Array.from(lengths),
  };
  const [g, c] = await onBoth(backend(), inputs, (be, t) => be.pagedAttention(t.out!, t.q!, t.kc!, t.vc!, t.tables!, t.lengths!, rows, nH, nKV, hd, blockSize, maxBlocks, scale, window), ['out']);
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
  // sliding windows (1, shorter and longer than a 64-position tile, past the longest row) and another scale
  for (const window of [1, 5, 70, 200]) await checkPaged({ lengths: [1, 7, 8, 70, 0, 80], nH: 4, nKV: 2, hd: 8, blockSize: 8, maxBlocks: 10, seed: 71, scale: 0.3, window });
});

// ── Batched LoRA through the adapter pool: one shrink and one expand dispatch per pool ──

type LoraSpec = { r: number; scale: number };

/** Inputs for `rows` rows over `specs` adapters (a{i}, b{i}), x and y. */
function loraInputs(specs: readonly LoraSpec[], rows: number, inDim: number, outDim: number, seed: number): Record<string, Float32Array> {
  const inputs: Record<string, Float32Array> = { y: randomArray(rows * outDim, seed), x: randomArray(rows * inDim, seed + 1) };
  specs.forEach(({ r }, i) => {
    inputs[`a${i}`] = randomArray(r * inDim, seed + 10 + 2 * i);
    inputs[`b${i}`] = randomArray(outDim * r, seed + 11 + 2 * i);
  });
  return inputs;
}

/** Adapter j of `specs` over the tensors a{j}, b{j}. */
const adapterOf = (t: Record<string, Tensor>, specs: readonly LoraSpec[], j: number) => ({ a: t[`a${j}`]!, b: t[`b${j}`]!, ...specs[j]! });

/** Each row's adapter: `assignment[i]` indexes specs, or is null. */
const rowAdapters = (t: Record<string, Tensor>, specs: readonly LoraSpec[], assignment: ReadonlyArray<number | null>) =>
  assignment.map((j) => (j === null ? null : adapterOf(t, specs, j)));

/**
 * A WebGPU backend on a device of its own whose command encoders count dispatches (the device's
 * own passes, wrapped: nothing in the backend changes for the count), with the pool options given.
 */
async function instrumentedBackend(adapterPool: AdapterPoolOptions): Promise<{ be: Backend; dispatches: () => number }> {
  const { device, description } = await requestGpuDevice();
  let count = 0;
  const createEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (d) => {
    const encoder = createEncoder(d);
    const begin = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (pd) => {
      const pass = begin(pd);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x, y, z) => {
        count++;
        dispatch(x, y, z);
      };
      return pass;
    };
    return encoder;
  };
  return { be: createWebGpuBackend(device, description, { adapterPool }), dispatches: () => count };
}

const seededSpecs = (n: number, seed: number): LoraSpec[] => {
  const s = randomArray(2 * n, seed);
  return Array.from({ length: n }, (_, i) => ({ r: 1 + Math.floor(((s[2 * i]! + 1) / 2) * 8), scale: 2 * s[2 * i + 1]! }));
};

test('loraRows over 40 distinct adapters (ranks 1..8) interleaved with null rows, in one call', { skip }, async () => {
  const inDim = 70, outDim = 45;
  const specs = seededSpecs(40, 71);
  assert.deepEqual(new Set(specs.map((s) => s.r)).size, 8, 'every rank 1..8 present');
  // 40 rows of their own adapter, every third row without one, and a few adapters used twice
  const assignment: Array<number | null> = [];
  for (let j = 0; j < 40; j++) {
    assignment.push(j);
    if (j % 3 === 0) assignment.push(null);
    if (j % 7 === 0) assignment.push(39 - j);
  }
  const rows = assignment.length;
  const inputs = loraInputs(specs, rows, inDim, outDim, 81);
  const [g, c] = await onBoth(backend(), inputs, (be, t) => be.loraRows(t.y!, t.x!, rowAdapters(t, specs, assignment), inDim, outDim), ['y']);
  const err = maxRelativeError(g.y!, c.y!);
  assert.ok(err < TOLERANCE, `max relative error ${err}`);
  assignment.forEach((j, row) => {
    if (j === null) assert.deepEqual(g.y!.subarray(row * outDim, (row + 1) * outDim), inputs.y!.subarray(row * outDim, (row + 1) * outDim));
  });
});

test('loraRows after an adapter is freed: new adapters adopted into its range give their own results', { skip }, async () => {
  const be = backend();
  const inDim = 33, outDim = 21, r = 5;
  const inputs = loraInputs([{ r, scale: 1 }, { r, scale: 1 }], 2, inDim, outDim, 91);
  const x = be.upload(inputs.x!);
  const old = { a: be.upload(inputs.a0!), b: be.upload(inputs.b0!), r, scale: 1.5 };
  const y0 = be.upload(inputs.y!);
  be.loraRows(y0, x, [old, old], inDim, outDim);
  await be.read(y0);
  const place = (t: Tensor) => [(t as GpuTensor).buffer, (t as GpuTensor).offset] as const;
  const [oldA, oldB] = [place(old.a), place(old.b)];
  be.free(old.a);
  be.free(old.b);
  // same sizes, other values: the first-fit pool puts them where the freed ones were
  const fresh = { a: be.upload(inputs.a1!), b: be.upload(inputs.b1!), r, scale: -0.75 };
  const y = be.upload(inputs.y!);
  be.loraRows(y, x, [null, fresh], inDim, outDim);
  assert.deepEqual([place(fresh.a), place(fresh.b)], [oldA, oldB]);
  const got = await be.read(y);
  const c = cpu();
  const ct = { y: c.upload(inputs.y!), x: c.upload(inputs.x!), a: c.upload(inputs.a1!), b: c.upload(inputs.b1!) };
  c.loraRows(ct.y, ct.x, [null, { a: ct.a, b: ct.b, r, scale: -0.75 }], inDim, outDim);
  const err = maxRelativeError(got, await c.read(ct.y));
  assert.ok(err < TOLERANCE, `max relative error ${err}`);
  for (const t of [x, y0, y, fresh.a, fresh.b]) be.free(t);
});

test('a pooled adapter keeps working with the other ops: read, write, matmul, axpy, copy, adamw', { skip }, async () => {
  const inDim = 24, outDim = 19, r = 6, m = 3;
  const specs = [{ r, scale: 0.5 }, { r, scale: 2 }];
  const inputs: Record<string, Float32Array> = {
    ...loraInputs(specs, 2, inDim, outDim, 101),
    c: randomArray(m * inDim, 103), left: randomArray(m * r, 104), grad: randomArray(r * inDim, 105), m: randomArray(r * inDim, 106, 0.1), v: randomArray(r * inDim, 107, 0.1).map(Math.abs),
  };
  const [g, c] = await onBoth(backend(), inputs, async (be, t) => {
    be.loraRows(t.y!, t.x!, rowAdapters(t, specs, [0, 1]), inDim, outDim); // adopts a0, b0, a1, b1 on the GPU
    if (be === backend()) {
      const buffers = new Set([t.a0, t.b0, t.a1, t.b1].map((x) => (x as GpuTensor).buffer));
      assert.equal(buffers.size, 1, 'all four factors in one pool buffer');
    }
    assert.deepEqual(await be.read(t.a0!), inputs.a0, 'read');
    be.write(t.a1!, Float32Array.of(1, 2, 3), 5);
    be.matmul(t.c!, t.left!, t.a0!, m, r, inDim, 'nn', true, 0.5); // pooled operand
    be.matmul(t.a1!, t.left!, t.c!, r, m, inDim, 'tn', true); // pooled result
    be.axpy(t.a0!, t.grad!, -0.1);
    be.axpy(t.b1!, t.b0!, 0.3); // both in one pool: written and read in one dispatch
    be.copy(t.a1!, t.a0!, 10, 3, 7);
    be.adamw(t.a0!, t.grad!, t.m!, t.v!, { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3, gradScale: 0.5 });
    be.loraRows(t.y!, t.x!, rowAdapters(t, specs, [1, 0]), inDim, outDim); // the trained factors serve
  }, ['a0', 'a1', 'b0', 'b1', 'c', 'm', 'v', 'y']);
  for (const k of Object.keys(g)) {
    const err = maxRelativeError(g[k]!, c[k]!);
    assert.ok(err < TOLERANCE, `${k}: max relative error ${err}`);
  }
});

test('a full pool opens another; one call over adapters of three pools, and a factor apart from its partner', { skip }, async () => {
  const { be, dispatches } = await instrumentedBackend({ firstPoolBytes: 4096 });
  try {
    const inDim = 40, outDim = 30;
    const specs = Array.from({ length: 10 }, (_, i) => ({ r: 4, scale: 0.25 * (i + 1) }));
    // adapter 10 shares adapter 0's A, with a B of its own
    const allSpecs = [...specs, { r: 4, scale: -1 }];
    const assignment = [3, null, 0, 9, 5, 10, 1, 4, 2, 8, null, 7, 6];
    const inputs = loraInputs(allSpecs, assignment.length, inDim, outDim, 111);
    const [g, c] = await onBoth(be, inputs, (b, t) => {
      const lora = assignment.map((j) => (j === 10 ? { ...adapterOf(t, allSpecs, 10), a: t.a0! } : j === null ? null : adapterOf(t, allSpecs, j)));
      // adapters 0..9 adopted one call each, in order, as a serving cache's first uses would:
      // 3 pairs fill the first 4 KiB pool, 6 the next 8 KiB, the last opens a third
      for (let j = 0; j < 10; j++) b.loraRows(t.y!, t.x!, assignment.map((a) => (a === j ? adapterOf(t, allSpecs, j) : null)), inDim, outDim);
      b.fill(t.y!, 0);
      const before = dispatches();
      b.loraRows(t.y!, t.x!, lora, inDim, outDim);
      if (b === be) {
        const pools = (ts: Array<Tensor | undefined>) => new Set(ts.map((x) => (x as GpuTensor).buffer)).size;
        const used = lora.filter((l) => l !== null);
        const aPools = pools(used.map((l) => l.a)), bPools = pools(used.map((l) => l.b));
        assert.ok(pools(used.flatMap((l) => [l.a, l.b])) >= 3, 'the adapters span three pools');
        assert.notEqual((t.b10 as GpuTensor).buffer, (t.a0 as GpuTensor).buffer, 'adapter 10 has its factors in two pools');
        assert.equal(dispatches() - before, aPools + bPools, 'one shrink per pool holding an A, one expand per pool holding a B');
      }
    }, ['y']);
    const err = maxRelativeError(g.y!, c.y!);
    assert.ok(err < TOLERANCE, `max relative error ${err}`);
  } finally {
    await be.dispose();
  }
});

test('loraRows over 64 rows with 64 distinct adapters records two dispatches', { skip }, async () => {
  const { be, dispatches } = await instrumentedBackend({});
  try {
    const inDim = 48, outDim = 36, rows = 64;
    const specs = seededSpecs(rows, 121);
    const inputs = loraInputs(specs, rows, inDim, outDim, 131);
    const [g, c] = await onBoth(be, inputs, (b, t) => {
      const before = dispatches();
      b.loraRows(t.y!, t.x!, rowAdapters(t, specs, specs.map((_, i) => i)), inDim, outDim);
      if (b === be) assert.equal(dispatches() - before, 2);
    }, ['y']);
    const err = maxRelativeError(g.y!, c.y!);
    assert.ok(err < TOLERANCE, `max relative error ${err}`);
  } finally {
    await be.dispose();
  }
});
