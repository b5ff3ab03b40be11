import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../model/random.ts';
import { blockDamping, cholesky, choleskySolve, cosineScores, dataInfScores, dotScores, evenBlocks, fisherPrecondition, selfNormalised } from './influence.ts';

const random = (n: number, seed: number, scale = 1) => {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
};

/** Solves A x = b by Gaussian elimination with partial pivoting (the brute-force reference). */
function solveDense(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/** ψᵢ = (GᵦᵀGᵦ/m + λI)⁻¹ gᵢ per block, by building each block's matrix and solving densely. */
function fisherReference(rows: Float32Array, n: number, D: number, blocks: ReturnType<typeof evenBlocks>, damping: number): Float64Array {
  const live = Array.from({ length: n }, (_, i) => i).filter((i) => rows.subarray(i * D, (i + 1) * D).some((x) => x !== 0));
  const lambdas = blockDamping(rows, n, D, blocks, damping).map((l) => (l * n) / live.length);
  const out = new Float64Array(n * D);
  blocks.forEach((b, k) => {
    const f = Array.from({ length: b.dimension }, (_, p) => Array.from({ length: b.dimension }, (_, q) => {
      let s = 0;
      for (const i of live) s += rows[i * D + b.offset + p]! * rows[i * D + b.offset + q]!;
      return s / live.length + (p === q ? lambdas[k]! : 0);
    }));
    for (const i of live) {
      const x = solveDense(f, Array.from({ length: b.dimension }, (_, p) => rows[i * D + b.offset + p]!));
      x.forEach((v, p) => (out[i * D + b.offset + p] = v));
    }
  });
  return out;
}

describe('influence', () => {
  it('factors and solves a symmetric positive-definite system (Cholesky)', () => {
    const a = Float64Array.of(4, 2, 2, 2, 5, 1, 2, 1, 6);
    const l = Float64Array.from(a);
    cholesky(l, 3);
    const x = Float64Array.of(1, 2, 3);
    choleskySolve(l, 3, x);
    const back = [0, 1, 2].map((i) => a[i * 3]! * x[0]! + a[i * 3 + 1]! * x[1]! + a[i * 3 + 2]! * x[2]!);
    back.forEach((v, i) => assert.ok(Math.abs(v - (i + 1)) < 1e-12));
    assert.throws(() => cholesky(Float64Array.of(1, 2, 2, 1), 2), /positive definite/);
  });

  it('preconditions by the per-block Fisher exactly, in whichever space is smaller (brute-force reference)', () => {
    for (const [n, D, blockCount] of [[6, 8, 2], [20, 12, 3], [5, 30, 3]] as const) {
      const rows = random(n * D, n * 100 + D);
      rows.fill(0, 2 * D, 3 * D); // a held-out example
      const blocks = evenBlocks(D, blockCount);
      const psi = fisherPrecondition(rows, n, D, blocks, 0.1);
      const ref = fisherReference(rows, n, D, blocks, 0.1);
      for (let j = 0; j < n * D; j++) assert.ok(Math.abs(psi[j]! - ref[j]!) <= 1e-4 * (1 + Math.abs(ref[j]!)), `n ${n} D ${D} at ${j}: ${psi[j]} vs ${ref[j]}`);
      assert.ok(psi.subarray(2 * D, 3 * D).every((x) => x === 0), 'held-out rows stay zero');
    }
  });

  it('damps the direction every example shares (the template) and keeps the rare ones', () => {
    // 12 examples sharing one large direction, each with a small one of its own
    const n = 12, D = 16;
    const rows = new Float32Array(n * D);
    for (let i = 0; i < n; i++) {
      rows[i * D] = 10;
      rows[i * D + 1 + i] = 1;
    }
    const psi = fisherPrecondition(rows, n, D, evenBlocks(D, 1), 0.01);
    const query = new Float32Array(D);
    query[0] = 10; // the template
    query[1 + 5] = 1; // example 5's own direction
    const raw = dotScores(rows, n, D, query), pre = dotScores(psi, n, D, query);
    assert.ok(raw[5]! / raw[0]! < 1.02, 'raw dot products hardly tell example 5 apart');
    assert.ok(pre[5]! / Math.max(...[...pre].filter((_, i) => i !== 5)) > 5, 'preconditioned, example 5 stands out');
  });

  it('scores by dot product, cosine, RelatIF and DataInf as their formulas say', () => {
    const n = 7, D = 10, rows = random(n * D, 3), q = random(D, 4);
    const blocks = evenBlocks(D, 2);
    const dots = dotScores(rows, n, D, q);
    const cos = cosineScores(rows, n, D, q);
    const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((a, x) => a + x * x, 0));
    for (let i = 0; i < n; i++) assert.ok(Math.abs(cos[i]! - dots[i]! / (norm(rows.subarray(i * D, (i + 1) * D)) * norm(q))) < 1e-9);
    const psi = fisherPrecondition(rows, n, D, blocks, 1);
    const rel = dotScores(selfNormalised(rows, psi, n, D), n, D, q);
    const fisher = dotScores(psi, n, D, q);
    for (let i = 0; i < n; i++) {
      const self = dotScores(psi.subarray(i * D, (i + 1) * D), 1, D, rows.subarray(i * D, (i + 1) * D))[0]!;
      assert.ok(Math.abs(rel[i]! - fisher[i]! / Math.sqrt(self)) < 1e-4 * (1 + Math.abs(rel[i]!)));
    }
    const lambdas = blockDamping(rows, n, D, blocks, 0.1);
    const di = dataInfScores(rows, n, D, blocks, lambdas, q);
    for (let k = 0; k < n; k++) {
      let expected = 0;
      blocks.forEach((b, l) => {
        const g = (i: number) => Array.from(rows.subarray(i * D + b.offset, i * D + b.offset + b.dimension));
        const qb = Array.from(q.subarray(b.offset, b.offset + b.dimension));
        const dot = (x: number[], y: number[]) => x.reduce((a, v, j) => a + v * y[j]!, 0);
        let r = 0;
        for (let i = 0; i < n; i++) r += (dot(qb, g(i)) / (lambdas[l]! + dot(g(i), g(i)))) * dot(g(i), g(k)) / n;
        expected += (dot(qb, g(k)) - r) / lambdas[l]!;
      });
      assert.ok(Math.abs(di[k]! - expected) < 1e-6 * (1 + Math.abs(expected)), `${di[k]} vs ${expected}`);
    }
  });

  it('gives the same scores bit for bit on every run', () => {
    const n = 9, D = 24, rows = random(n * D, 8), q = random(D, 9);
    const a = dotScores(fisherPrecondition(rows, n, D, evenBlocks(D, 3), 0.1), n, D, q);
    const b = dotScores(fisherPrecondition(rows, n, D, evenBlocks(D, 3), 0.1), n, D, q);
    assert.deepEqual(a, b);
  });
});
