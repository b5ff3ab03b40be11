import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dequantize, quantize, quantizedByteLength } from './ggml-quants.ts';
import type { QuantType } from './ggml-quants.ts';
import { GgufFormatError, gguf, ggufTensorBytes, ggufTensorData, ggufValue, parseGguf, readGgufFile, serializeGguf, writeGgufFile } from './gguf.ts';
import type { GgufContent, GgufMetadata } from './gguf.ts';
import { ShapeMismatchError, UnsupportedDtypeError } from './safetensors.ts';

const everyType = (): GgufMetadata =>
  new Map([
    ['general.architecture', gguf.str('llama')],
    ['u8', gguf.u8(255)],
    ['i8', gguf.i8(-128)],
    ['u16', gguf.u16(65535)],
    ['i16', gguf.i16(-32768)],
    ['u32', gguf.u32(4294967295)],
    ['i32', gguf.i32(-2147483648)],
    ['f32', gguf.f32(1e-5)],
    ['f64', gguf.f64(Math.PI)],
    ['u64', gguf.u64(2n ** 64n - 1n)],
    ['i64', gguf.i64(-(2n ** 63n))],
    ['bool', gguf.bool(true)],
    ['unicode', gguf.str('▁Ġ日本 \n')],
    ['strings', gguf.strings(['a', '', 'Ġt h', '▁'])],
    ['ints', gguf.i32s([1, -2, 3])],
    ['floats', gguf.f32s(new Float32Array([0.5, -0.25]))],
    ['bools', { type: 'array', itemType: 'bool', value: [true, false] }],
    ['big', { type: 'array', itemType: 'u64', value: [0n, 5n] }],
    ['nested', { type: 'array', itemType: 'array', value: [gguf.strings(['x']), gguf.i32s([7, 8])] }],
    ['empty', gguf.strings([])],
  ]);

const content = (): GgufContent => ({
  metadata: everyType(),
  tensors: [
    { name: 'token_embd.weight', shape: [5, 3], type: 'F16', data: new Float32Array(15).map((_, i) => i / 7 - 1) },
    { name: 'output_norm.weight', shape: [3], type: 'F32', data: new Float32Array([1, 2, 3]) },
    { name: 'blk.0.attn_q.weight', shape: [3, 3], type: 'BF16', data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) },
    { name: 'scalar', shape: [], type: 'F32', data: new Float32Array([42]) },
  ],
});

test('header layout: magic, version 3, tensor and key/value counts', () => {
  const bytes = serializeGguf({ metadata: new Map([['general.architecture', gguf.str('llama')]]), tensors: [] });
  assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'GGUF');
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  assert.equal(view.getUint32(4, true), 3);
  assert.equal(view.getBigUint64(8, true), 0n);
  assert.equal(view.getBigUint64(16, true), 1n);
  // key: u64 length + bytes; value type 8 (string); value: u64 length + bytes
  assert.equal(view.getBigUint64(24, true), 20n);
  assert.equal(new TextDecoder().decode(bytes.subarray(32, 52)), 'general.architecture');
  assert.equal(view.getUint32(52, true), 8);
  assert.equal(view.getBigUint64(56, true), 5n);
  assert.equal(new TextDecoder().decode(bytes.subarray(64, 69)), 'llama');
  assert.equal(bytes.length % 32, 0);
});

test('metadata of every type and tensors round-trip; dims are the shape reversed', () => {
  const bytes = serializeGguf(content());
  const file = parseGguf(bytes);
  assert.equal(file.version, 3);
  assert.equal(file.alignment, 32);
  assert.deepEqual([...file.metadata.keys()], [...everyType().keys()]);
  for (const [key, value] of everyType()) {
    const got = file.metadata.get(key)!;
    assert.equal(got.type, value.type, key);
    if (key === 'f32') assert.equal(ggufValue(file.metadata, key), Math.fround(1e-5));
    else if (key === 'nested') assert.deepEqual(ggufValue(file.metadata, key), [['x'], [7, 8]]);
    else assert.deepEqual(ggufValue(file.metadata, key), value.type === 'array' ? Array.from(value.value as ArrayLike<unknown>) : value.value, key);
  }
  const embd = file.tensors.find((t) => t.name === 'token_embd.weight')!;
  assert.deepEqual(embd.dims, [3, 5]);
  assert.deepEqual(embd.shape, [5, 3]);
  assert.equal(embd.type, 'F16');
  assert.equal(embd.byteLength, 30);
  assert.deepEqual([...ggufTensorData(bytes, embd)], [...content().tensors[0]!.data].map(Math.f16round));
  const q = file.tensors.find((t) => t.name === 'blk.0.attn_q.weight')!;
  assert.equal(q.type, 'BF16');
  assert.deepEqual([...ggufTensorData(bytes, q)], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const scalar = file.tensors.find((t) => t.name === 'scalar')!;
  assert.deepEqual(scalar.dims, [1]);
  assert.deepEqual([...ggufTensorData(bytes, scalar)], [42]);
  for (const t of file.tensors) assert.equal((t.offset - file.dataOffset) % 32, 0, t.name);
  assert.equal(file.dataOffset % 32, 0);
});

test('general.alignment is honoured; the same content gives the same bytes', () => {
  const c = content();
  c.metadata.set('general.alignment', gguf.u32(64));
  const bytes = serializeGguf(c);
  const file = parseGguf(bytes);
  assert.equal(file.alignment, 64);
  for (const t of file.tensors) assert.equal(t.offset % 64, 0);
  assert.deepEqual(serializeGguf(c), bytes);
  c.metadata.set('general.alignment', gguf.u32(48));
  assert.throws(() => serializeGguf(c), /power of two/);
});

test('writeGgufFile writes the serialised bytes; readGgufFile decodes every tensor', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gguf-'));
  try {
    const path = join(dir, 'x.gguf');
    await writeGgufFile(path, content());
    assert.deepEqual(new Uint8Array(await readFile(path)), serializeGguf(content()));
    const { file, tensors } = await readGgufFile(path);
    assert.equal(ggufValue(file.metadata, 'general.architecture'), 'llama');
    assert.deepEqual([...tensors.get('output_norm.weight')!.data], [1, 2, 3]);
    await assert.rejects(readGgufFile(join(dir, 'x.gguf.missing')), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tensors of unknown or undecoded types are listed with their byte size but not decoded', () => {
  const bytes = serializeGguf({ metadata: new Map(), tensors: [{ name: 'q', shape: [2, 32], type: 'F16', data: new Float32Array(64) }] });
  const file = parseGguf(bytes);
  assert.equal(file.tensors[0]!.type, 'F16');
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const typeAt = 24 + (8 + 1) + 4 + 2 * 8; // fixed header, name "q", n_dims, two dims
  view.setUint32(typeAt, 3, true); // Q4_1: a size is known, no decoder
  const patched = parseGguf(bytes).tensors[0]!;
  assert.equal(patched.type, 'Q4_1');
  assert.equal(patched.byteLength, 2 * 20);
  assert.throws(() => ggufTensorData(bytes, patched), (e) => e instanceof UnsupportedDtypeError && /"q" is Q4_1/.test(e.message));
  view.setUint32(typeAt, 99, true);
  assert.equal(parseGguf(bytes).tensors[0]!.type, 'type99');
});

test('bad content and bad bytes give typed errors', () => {
  const one = (t: Partial<GgufContent['tensors'][number]>) => serializeGguf({ metadata: new Map(), tensors: [{ name: 't', shape: [2], type: 'F32', data: new Float32Array(2), ...t }] });
  assert.throws(() => one({ data: new Float32Array(3) }), (e) => e instanceof ShapeMismatchError && /3 values, but shape \[2\] has 2/.test(e.message));
  assert.throws(() => one({ name: 'x'.repeat(64) }), /longer than ggml's 63 bytes/);
  assert.throws(() => one({ shape: [1, 1, 1, 1, 2] }), /5 dims/);
  assert.throws(() => one({ type: 'Q4_1' as 'F32' }), UnsupportedDtypeError);
  assert.throws(() => one({ type: 'Q8_0', shape: [1, 2] }), (e) => e instanceof ShapeMismatchError && /whole 32-element blocks/.test(e.message));
  assert.throws(() => serializeGguf({ metadata: new Map([['k', gguf.u8(256)]]), tensors: [] }), (e) => e instanceof GgufFormatError && /"k": 256 is not a valid u8/.test(e.message));
  assert.throws(() => serializeGguf({ metadata: new Map([['k', gguf.i32s([1.5])]]), tensors: [] }), /"k\[0\]": 1\.5 is not a valid i32/);
  assert.throws(() => serializeGguf({ metadata: new Map([['k', gguf.u64(-1n)]]), tensors: [] }), /not a valid u64/);
  const twice = { name: 't', shape: [1], type: 'F32' as const, data: new Float32Array(1) };
  assert.throws(() => serializeGguf({ metadata: new Map(), tensors: [twice, twice] }), /listed twice/);

  const good = serializeGguf(content());
  assert.throws(() => parseGguf(new Uint8Array([1, 2, 3])), /bad magic/);
  const v1 = good.slice();
  new DataView(v1.buffer).setUint32(4, 1, true);
  assert.throws(() => parseGguf(v1), /version 1 is not supported/);
  assert.throws(() => parseGguf(good.subarray(0, 200)), (e) => e instanceof GgufFormatError && /truncated/.test(e.message));
  assert.throws(() => parseGguf(good.subarray(0, good.length - 40)), /truncated: tensor "scalar" ends at byte/);
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(8, 1n << 40n, true);
  assert.throws(() => parseGguf(huge), /tensor count \d+ needs more than the \d+ bytes left/);
  const badType = good.slice();
  new DataView(badType.buffer).setUint32(24 + 8 + 20, 77, true); // first key's value type
  assert.throws(() => parseGguf(badType), /"general.architecture" has unknown value type 77/);
});

test('Q8_0, Q4_0, Q4_K and Q6_K tensors are written as ggml blocks and parse back', () => {
  const types: QuantType[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];
  const data = (n: number, seed: number) => new Float32Array(n).map((_, i) => Math.sin(i * 0.37 + seed) * (1 + (i % 7)));
  const tensors = types.map((type, i) => ({ name: `blk.${i}.ffn_up.weight`, shape: [3, 512], type, data: data(3 * 512, i) }));
  const bytes = serializeGguf({ metadata: new Map([['general.alignment', gguf.u32(64)]]), tensors: [...tensors, { name: 'norm', shape: [5], type: 'F32', data: new Float32Array(5).fill(1) }] });
  const file = parseGguf(bytes);
  for (const [i, t] of tensors.entries()) {
    const info = file.tensors[i]!;
    assert.equal(info.type, t.type);
    assert.deepEqual(info.dims, [512, 3]);
    assert.equal(info.byteLength, quantizedByteLength(t.type, 3 * 512));
    assert.equal((info.offset - file.dataOffset) % 64, 0);
    const expected = quantize(t.type, t.data);
    assert.deepEqual(bytes.subarray(info.offset, info.offset + info.byteLength!), expected, `${t.type} blocks`);
    assert.deepEqual(ggufTensorData(bytes, info), dequantize(t.type, expected, 3 * 512), `${t.type} decoded`);
    const raw = ggufTensorBytes(bytes, info);
    assert.deepEqual({ type: raw.type, rows: raw.rows, cols: raw.cols }, { type: t.type, rows: 3, cols: 512 });
    assert.equal(raw.bytes.buffer, bytes.buffer, 'a view, not a copy');
  }
  assert.throws(() => ggufTensorBytes(bytes, file.tensors[4]!), UnsupportedDtypeError);
});
