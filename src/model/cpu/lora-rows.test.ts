/**
 * The CPU backend's per-row LoRA (SGMV: each adapter's rows through the matrix products together)
 * against a float64 row-by-row reference: rows of one adapter adjacent or scattered, rows without
 * an adapter, two adapters sharing an A with different Bs and scales, ranks that differ, adapters
 * frozen (their factors rounded to half precision, as `Llama.loadLora` rounds them, and given in the
 * backend's serving form: all frozen, the native kernels' one-call loraRows) and not.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { createBackend } from '../create-backend.ts';
import { CpuHalfFactors, CpuTensor, createCpuBackend } from './cpu-backend.ts';
import { loraPrefetch, loraRow, loraRows, matmul } from './matmul.ts';
import { allocShared, freeShared } from './matmul-pool.ts';
import { halfMatrixValues, toHalfMatrix } from '../half-matrix.ts';
import { seededRandom } from '../random.ts';

// the engine's backend (the native kernels' loraRows on half-precision factors, where built); one
// with only the WebAssembly per-row kernel (served adapters keep Bᵀ in f32 for it); and one whose
// served factors the native kernels cannot reach (off their heap: the products on A and B)
const engine = createBackend({ threads: 1 });
const wasmRows = createCpuBackend({ name: 'cpu (WebAssembly per-row LoRA)', matmul, loraRow, allocate: allocShared, release: freeShared });
const offHeap = createCpuBackend({ name: 'cpu (halves off the heap)', matmul, loraKernels: { onHeap: () => false, rows: loraRows, prefetch: loraPrefetch } });
after(() => Promise.all([engine.dispose(), wasmRows.dispose(), offHeap.dispose()]));

for (const [label, be] of [['the engine', engine], ['WebAssembly per-row kernel', wasmRows], ['halves off the heap', offHeap]] as const) test(`loraRows equals y[i] += s_i·B_i·(A_i·x[i]) row by row, for any assignment of rows to adapters (${label})`, async () => {
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.array(fc.integer({ min: -1, max: 4 }), { minLength: 1, maxLength: 24 }), fc.integer(), fc.boolean(), async (outDim, assignment, seed, allFrozen) => {
    const rng = seededRandom(seed >>> 0);
    const inDim = 72, rows = assignment.length; // a multiple of 4: rows alone with a frozen adapter take the one-call kernel when outDim is one too
    const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    // adapters 0–3 have their own factors; adapter 4 shares adapter 0's A with a B and scale of its own
    // adapters 1 and 3 (or, allFrozen, all: then the native kernels take every row in one call) are
    // frozen: factors in half precision, and their serving form beside them
    const ranks = [4, 8, 1, 4];
    const frozen = (j: number) => allFrozen || j === 1 || j === 3;
    const factor = (n: number, j: number) => (frozen(j) ? halfMatrixValues(toHalfMatrix(rand(n))) : rand(n));
    const As = ranks.map((r, j) => factor(r * inDim, j)), Bs = [...ranks, 4].map((r, j) => factor(outDim * r, j));
    const specs = [0, 1, 2, 3, 4].map((j) => ({ a: As[j === 4 ? 0 : j]!, b: Bs[j]!, r: ranks[j === 4 ? 0 : j]!, scale: j === 4 ? -0.5 : 0.25 * (j + 1) }));
    const tensors = specs.map((s, j) => ({ a: be.upload(s.a), b: be.upload(s.b), r: s.r, scale: s.scale, serving: frozen(j) ? be.loraServingFactors!(toHalfMatrix(s.a), toHalfMatrix(s.b), s.r, inDim, outDim) : null }));
    const shared = { ...tensors[4]!, a: tensors[0]!.a };
    const x = rand(rows * inDim), y0 = rand(rows * outDim);
    const yT = be.upload(y0), xT = be.upload(x);
    be.loraRows(yT, xT, assignment.map((j) => (j < 0 ? null : j === 4 ? shared : tensors[j]!)), inDim, outDim);
    const got = await be.read(yT);
    {
      for (let i = 0; i < rows; i++) {
        const j = assignment[i]!;
        for (let o = 0; o < outDim; o++) {
          let want = y0[i * outDim + o]!;
          if (j >= 0) {
            const s = specs[j]!;
            for (let k = 0; k < s.r; k++) {
              let u = 0;
              for (let c = 0; c < inDim; c++) u += s.a[k * inDim + c]! * x[i * inDim + c]!;
              want += s.scale * s.b[o * s.r + k]! * u;
            }
          }
          assert.ok(Math.abs(got[i * outDim + o]! - want) <= 1e-4 * (1 + Math.abs(want)), `row ${i} (adapter ${j}) column ${o}: ${got[i * outDim + o]} vs ${want}`);
        }
      }
      for (const t of [yT, xT, ...tensors.flatMap((t) => [t.a, t.b, ...(t.serving ? [t.serving] : [])])]) be.free(t);
    }
  }), { numRuns: 60 });
});

for (const [label, be] of [['the engine', engine], ['WebAssembly per-row kernel', wasmRows]] as const) test(`loraServingBytes says what loraServingFactors keeps (${label})`, () => {
  for (const [r, inDim, outDim] of [[8, 576, 1536], [3, 7, 5], [1, 1, 1]] as const) {
    const t = be.loraServingFactors!(toHalfMatrix(new Float32Array(r * inDim).fill(0.5)), toHalfMatrix(new Float32Array(outDim * r).fill(-0.25)), r, inDim, outDim);
    const kept = t instanceof CpuHalfFactors ? t.storage.byteLength : (t as CpuTensor).data.byteLength;
    assert.equal(be.loraServingBytes!(r, inDim, outDim), kept);
    be.free(t);
  }
});
