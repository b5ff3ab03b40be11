import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  ModelWeightsError,
  SafetensorsFormatError,
  ShapeMismatchError,
  UnsupportedDtypeError,
  bfloat16ToFloat32,
  float32ToBfloat16,
  float32ToHalf,
  halfToFloat32,
  parseSafetensors,
  readModelWeights,
  readSafetensorsFile,
  serializeSafetensors,
  writeSafetensorsFile,
} from './safetensors.ts';
import type { TensorMap } from './tensor-map.ts';

/** Hand-assembles a safetensors file from a header object and a data section. */
function rawFile(header: unknown, data: Uint8Array, pad = true): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(header));
  if (pad && json.length % 8 !== 0) {
    const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

const sample = (): TensorMap =>
  new Map([
    ['b.weight', { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, 1e-3, -65504]) }],
    ['a.bias', { shape: [3], data: new Float32Array([0.1, 0.2, 0.3]) }],
    ['scalar', { shape: [], data: new Float32Array([7]) }],
  ]);

test('a hand-written file (spec layout) parses, with metadata', () => {
  const bytes = rawFile(
    { __metadata__: { format: 'pt' }, w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [1], data_offsets: [16, 20] } },
    f32Bytes([1, 2, 3, 4, 5]),
  );
  const { tensors, metadata, dtypes } = parseSafetensors(bytes);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual(tensors.get('w')!.shape, [2, 2]);
  assert.deepEqual([...tensors.get('w')!.data], [1, 2, 3, 4]);
  assert.deepEqual([...tensors.get('b')!.data], [5]);
  assert.equal(dtypes.get('w'), 'F32');
});

test('F32 round-trips exactly; F16 and BF16 round to the nearest representable value', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    const bytes = serializeSafetensors(sample(), { dtype, metadata: { format: 'pt' } });
    const back = parseSafetensors(bytes);
    assert.deepEqual(back.metadata, { format: 'pt' });
    for (const [name, t] of sample()) {
      const got = back.tensors.get(name)!;
      assert.deepEqual(got.shape, t.shape);
      assert.equal(back.dtypes.get(name), dtype);
      const expected = [...t.data].map((v) => (dtype === 'F32' ? v : dtype === 'F16' ? Math.f16round(v) : bfloat16ToFloat32(float32ToBfloat16(new Float32Array([v])))[0]!));
      assert.deepEqual([...got.data], expected, `${dtype} ${name}`);
    }
  }
});

test('writing is deterministic: sorted names, padded header, insertion order does not matter', () => {
  const a = serializeSafetensors(sample(), { dtype: 'F16' });
  const b = serializeSafetensors(new Map([...sample()].reverse()), { dtype: 'F16' });
  assert.deepEqual(a, b);
  const n = Number(new DataView(a.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = new TextDecoder().decode(a.subarray(8, 8 + n));
  assert.ok(/^ *$/.test(header.slice(header.lastIndexOf('}') + 1)), 'padding is spaces');
  assert.match(header, /^\{"a\.bias":\{"dtype":"F16","shape":\[3\],"data_offsets":\[0,6\]\},"b\.weight":/);
  assert.equal(a.length, 8 + n + 2 * (3 + 6 + 1));
});

test('half-precision encoding matches the platform Float16Array on every f16 value and random f32 values', (t) => {
  const F16 = (globalThis as { Float16Array?: new (n: number | ArrayLike<number>) => ArrayLike<number> & { buffer: ArrayBuffer } }).Float16Array;
  if (!F16) {
    t.skip('this Node has no Float16Array to compare with');
    return;
  }
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = halfToFloat32(all);
  const native = new Float32Array(new (F16 as unknown as new (b: ArrayBuffer) => ArrayLike<number>)(all.buffer));
  for (let i = 0; i < 65536; i++) assert.ok(Object.is(decoded[i], native[i]) || (Number.isNaN(decoded[i]) && Number.isNaN(native[i])), `half 0x${i.toString(16)}`);
  // every f16 value, and every midpoint between neighbours (the ties), exactly representable in f32
  const points = new Float32Array(2 * 0x7c00);
  for (let h = 0; h < 0x7c00; h++) {
    points[2 * h] = decoded[h]!;
    points[2 * h + 1] = (decoded[h]! + (h + 1 < 0x7c00 ? decoded[h + 1]! : 65520)) / 2;
  }
  for (const sign of [1, -1]) {
    const values = points.map((v) => sign * v);
    assert.deepEqual(float32ToHalf(values), new Uint16Array(new F16(values).buffer));
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const f = new Float32Array(new Uint32Array([bits]).buffer);
      const ours = float32ToHalf(f)[0]!;
      const theirs = new Uint16Array(new F16(f).buffer)[0]!;
      if (Number.isNaN(f[0])) return (ours & 0x7c00) === 0x7c00 && (ours & 0x3ff) !== 0;
      return ours === theirs;
    }),
    { numRuns: 20000 },
  );
});

test('bfloat16 encoding rounds to nearest, ties to even', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
      const f = new Float32Array(new Uint32Array([bits]).buffer);
      const x = f[0]!;
      const ours = float32ToBfloat16(f)[0]!;
      if (Number.isNaN(x)) return Number.isNaN(bfloat16ToFloat32(new Uint16Array([ours]))[0]);
      const lo = bits >>> 16; // truncation: toward zero
      const hi = lo + 1; // away from zero (bits of infinity past the largest finite value)
      const vLo = bfloat16ToFloat32(new Uint16Array([lo]))[0]!;
      let vHi = bfloat16ToFloat32(new Uint16Array([hi]))[0]!;
      if (!Number.isFinite(vHi)) vHi = Math.sign(vHi) * 2 ** 128; // IEEE rounds as if the exponent were unbounded
      const dLo = Math.abs(x - vLo);
      const dHi = Math.abs(vHi - x);
      const expected = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
      return ours === expected;
    }),
    { numRuns: 20000 },
  );
});

test('F64 and BF16 tensors from other writers are read; unaligned data is copied', () => {
  const f64 = new Uint8Array(new Float64Array([1.5, -2.25]).buffer);
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xc000]).buffer);
  const bytes = rawFile({ d: { dtype: 'F64', shape: [2], data_offsets: [0, 16] }, h: { dtype: 'BF16', shape: [2], data_offsets: [16, 20] } }, new Uint8Array([...f64, ...bf16]));
  const { tensors } = parseSafetensors(bytes);
  assert.deepEqual([...tensors.get('d')!.data], [1.5, -2.25]);
  assert.deepEqual([...tensors.get('h')!.data], [1, -2]);
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const again = parseSafetensors(shifted.subarray(1), { shareMemory: true });
  assert.deepEqual([...again.tensors.get('d')!.data], [1.5, -2.25]);
  const odd = rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32Bytes([3, 4]), false);
  assert.deepEqual([...parseSafetensors(odd).tensors.get('w')!.data], [3, 4]);
});

test('parsed F32 data is a copy unless shareMemory is asked for', () => {
  const bytes = serializeSafetensors(sample());
  const copy = parseSafetensors(bytes).tensors.get('a.bias')!.data;
  const shared = parseSafetensors(bytes, { shareMemory: true }).tensors.get('a.bias')!.data;
  assert.notEqual(copy.buffer, bytes.buffer);
  assert.equal(shared.buffer, bytes.buffer);
});

test('bad input gives typed errors with clear messages', () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  assert.throws(() => parseSafetensors(new Uint8Array(5)), (e) => e instanceof SafetensorsFormatError && /truncated/.test(e.message));
  const long = new Uint8Array(16);
  new DataView(long.buffer).setBigUint64(0, 100n, true);
  assert.throws(() => parseSafetensors(long), (e) => e instanceof SafetensorsFormatError && /truncated: the header needs 100 bytes/.test(e.message));
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  assert.throws(() => parseSafetensors(huge), /over the 100 MB limit/);
  const badJson = rawFile({}, new Uint8Array());
  badJson.set(new TextEncoder().encode('{"x":'), 8);
  assert.throws(() => parseSafetensors(badJson), (e) => e instanceof SafetensorsFormatError && /bad header JSON/.test(e.message));
  assert.throws(() => parseSafetensors(rawFile({ w: { dtype: 'I32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8))), (e) => e instanceof UnsupportedDtypeError && /"w" has dtype I32/.test(e.message));
  assert.throws(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))), (e) => e instanceof ShapeMismatchError && /shape \[3\] × F32 needs 12/.test(e.message));
  assert.throws(() => parseSafetensors(rawFile(ok, new Uint8Array(4))), (e) => e instanceof SafetensorsFormatError && /truncated: tensor "w" ends at byte 8/.test(e.message));
  assert.throws(() => parseSafetensors(rawFile(ok, new Uint8Array(12))), /4 bytes after the last tensor/);
  assert.throws(
    () => parseSafetensors(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12))),
    (e) => e instanceof SafetensorsFormatError && /overlaps/.test(e.message),
  );
  assert.throws(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8))), /4 unused bytes before tensor "w"/);
  assert.throws(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }, new Uint8Array())), /shape is not a list of sizes/);
  assert.throws(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, new Uint8Array(8))), /data_offsets is not \[begin, end\]/);
  assert.throws(() => parseSafetensors(rawFile({ __metadata__: { n: 1 } }, new Uint8Array())), /__metadata__\.n is not a string/);
  assert.throws(() => serializeSafetensors(new Map([['w', { shape: [3], data: new Float32Array(2) }]])), (e) => e instanceof ShapeMismatchError && /2 values, but shape \[3\] has 3/.test(e.message));
});

test('files: write, read, model directories single and sharded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'safetensors-'));
  try {
    const path = join(dir, 'model.safetensors');
    await writeSafetensorsFile(path, sample(), { dtype: 'BF16', metadata: { format: 'pt' } });
    assert.deepEqual(new Uint8Array(await readFile(path)), serializeSafetensors(sample(), { dtype: 'BF16', metadata: { format: 'pt' } }));
    assert.deepEqual((await readSafetensorsFile(path)).metadata, { format: 'pt' });
    const single = await readModelWeights(dir);
    assert.deepEqual([...single.keys()].sort(), ['a.bias', 'b.weight', 'scalar']);

    const sharded = join(dir, 'sharded');
    await import('node:fs/promises').then((fs) => fs.mkdir(sharded));
    const s = sample();
    await writeSafetensorsFile(join(sharded, 'model-00001-of-00002.safetensors'), new Map([['a.bias', s.get('a.bias')!]]));
    await writeSafetensorsFile(join(sharded, 'model-00002-of-00002.safetensors'), new Map([['b.weight', s.get('b.weight')!], ['scalar', s.get('scalar')!]]));
    const index = { metadata: { total_size: 40 }, weight_map: { 'a.bias': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors', scalar: 'model-00002-of-00002.safetensors' } };
    await writeFile(join(sharded, 'model.safetensors.index.json'), JSON.stringify(index));
    const weights = await readModelWeights(sharded);
    assert.deepEqual([...weights.get('b.weight')!.data], [...s.get('b.weight')!.data]);
    assert.deepEqual([...weights.get('scalar')!.data], [7]);

    await writeFile(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ...index.weight_map, extra: 'model-00001-of-00002.safetensors' } }));
    await assert.rejects(readModelWeights(sharded), (e) => e instanceof ModelWeightsError && /"extra" listed in the index is not in this shard/.test(e.message));
    await writeFile(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: '../model.safetensors' } }));
    await assert.rejects(readModelWeights(sharded), /not a plain file name/);
    await assert.rejects(readModelWeights(join(dir, 'nowhere')), (e) => e instanceof ModelWeightsError && /neither model\.safetensors nor/.test(e.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a 16 MB tensor converts to and from F16 in well under a second', () => {
  const data = new Float32Array(4 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i);
  const tensors: TensorMap = new Map([['big', { shape: [2048, 2048], data }]]);
  let t = performance.now();
  const bytes = serializeSafetensors(tensors, { dtype: 'F16' });
  const writeMs = performance.now() - t;
  t = performance.now();
  const back = parseSafetensors(bytes).tensors.get('big')!;
  const readMs = performance.now() - t;
  assert.equal(back.data.length, data.length);
  assert.ok(writeMs < 1000 && readMs < 1000, `F16 write ${writeMs.toFixed(0)} ms, read ${readMs.toFixed(0)} ms`);
});
