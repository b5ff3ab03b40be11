/**
 * GGUF v3, llama.cpp's model file: magic "GGUF", version, tensor and key/value counts, typed
 * metadata key/values, tensor infos (name, dims in ggml order — the row-major shape reversed —,
 * ggml type, offset), then the tensor data, each tensor starting on `general.alignment` (default 32)
 * bytes from the start of the data section. All numbers little-endian.
 *
 * The writer stores F32, F16, BF16 or quantised (Q8_0, Q4_0, Q4_K, Q6_K; `ggml-quants.ts`) tensors
 * from f32 host data; the reader lists every tensor and decodes F32, F16, BF16, F64 and those
 * quantised ones, or hands out a quantised tensor's raw blocks (`ggufTensorBytes`).
 */
import { readFile } from 'node:fs/promises';
import { dequantize, isQuantType, quantize, QUANT_FORMATS } from './ggml-quants.ts';
import type { QuantType } from './ggml-quants.ts';
import { ShapeMismatchError, UnsupportedDtypeError, decodeFloats, encodeFloats, writeChunksAtomically } from './safetensors.ts';
import { elementCount } from './tensor-map.ts';
import type { TensorMap } from './tensor-map.ts';

/** Malformed GGUF bytes, or content the format cannot hold. */
export class GgufFormatError extends Error {
  override name = 'GgufFormatError';
}

/** Metadata number types held in a JS number. */
export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';
/** Metadata number types held in a bigint. */
export type GgufBigintType = 'u64' | 'i64';
/** Every metadata value type except arrays. */
export type GgufScalarType = GgufNumberType | GgufBigintType | 'bool' | 'string';

/** A typed metadata value. Arrays hold one item type; arrays of arrays are allowed. */
export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigintType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

export type GgufArray =
  | { type: 'array'; itemType: GgufNumberType; value: ArrayLike<number> }
  | { type: 'array'; itemType: GgufBigintType; value: readonly bigint[] }
  | { type: 'array'; itemType: 'bool'; value: readonly boolean[] }
  | { type: 'array'; itemType: 'string'; value: readonly string[] }
  | { type: 'array'; itemType: 'array'; value: readonly GgufArray[] };

/** Key → value, written in insertion order. */
export type GgufMetadata = Map<string, GgufValue>;

/**
 * Shorthands for typed metadata values.
 *
 * @example
 * const metadata: GgufMetadata = new Map([['llama.block_count', gguf.u32(2)], ['tokenizer.ggml.tokens', gguf.strings(['a', 'b'])]]);
 */
export const gguf = {
  u8: (value: number): GgufValue => ({ type: 'u8', value }),
  i8: (value: number): GgufValue => ({ type: 'i8', value }),
  u16: (value: number): GgufValue => ({ type: 'u16', value }),
  i16: (value: number): GgufValue => ({ type: 'i16', value }),
  u32: (value: number): GgufValue => ({ type: 'u32', value }),
  i32: (value: number): GgufValue => ({ type: 'i32', value }),
  f32: (value: number): GgufValue => ({ type: 'f32', value }),
  f64: (value: number): GgufValue => ({ type: 'f64', value }),
  u64: (value: bigint): GgufValue => ({ type: 'u64', value }),
  i64: (value: bigint): GgufValue => ({ type: 'i64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  str: (value: string): GgufValue => ({ type: 'string', value }),
  strings: (value: readonly string[]): GgufArray => ({ type: 'array', itemType: 'string', value }),
  i32s: (value: ArrayLike<number>): GgufArray => ({ type: 'array', itemType: 'i32', value }),
  u32s: (value: ArrayLike<number>): GgufArray => ({ type: 'array', itemType: 'u32', value }),
  f32s: (value: ArrayLike<number>): GgufArray => ({ type: 'array', itemType: 'f32', value }),
};

const valueTypeIds: Record<GgufScalarType | 'array', number> = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
};
const valueTypeNames = Object.fromEntries(Object.entries(valueTypeIds).map(([k, v]) => [v, k])) as Record<number, GgufScalarType | 'array'>;

/** ggml tensor types: id, elements per block, bytes per block. */
const ggmlTypes: Record<string, { id: number; block: number; bytes: number }> = {
  F32: { id: 0, block: 1, bytes: 4 },
  F16: { id: 1, block: 1, bytes: 2 },
  Q4_0: { id: 2, block: 32, bytes: 18 },
  Q4_1: { id: 3, block: 32, bytes: 20 },
  Q5_0: { id: 6, block: 32, bytes: 22 },
  Q5_1: { id: 7, block: 32, bytes: 24 },
  Q8_0: { id: 8, block: 32, bytes: 34 },
  Q8_1: { id: 9, block: 32, bytes: 36 },
  Q2_K: { id: 10, block: 256, bytes: 84 },
  Q3_K: { id: 11, block: 256, bytes: 110 },
  Q4_K: { id: 12, block: 256, bytes: 144 },
  Q5_K: { id: 13, block: 256, bytes: 176 },
  Q6_K: { id: 14, block: 256, bytes: 210 },
  Q8_K: { id: 15, block: 256, bytes: 292 },
  I8: { id: 24, block: 1, bytes: 1 },
  I16: { id: 25, block: 1, bytes: 2 },
  I32: { id: 26, block: 1, bytes: 4 },
  I64: { id: 27, block: 1, bytes: 8 },
  F64: { id: 28, block: 1, bytes: 8 },
  BF16: { id: 30, block: 1, bytes: 2 },
};
const ggmlTypeNames = Object.fromEntries(Object.entries(ggmlTypes).map(([k, v]) => [v.id, k])) as Record<number, string>;

/** Tensor types the writer stores (quantised ones need the last dim, a row, to be whole blocks). */
export type GgufWriteType = 'F32' | 'F16' | 'BF16' | QuantType;

/** A tensor to write: row-major `shape` (as in PyTorch), f32 host data, stored as `type`. */
export interface GgufTensorInput {
  name: string;
  shape: readonly number[];
  type: GgufWriteType;
  data: Float32Array;
}

/** What a GGUF file holds. */
export interface GgufContent {
  metadata: GgufMetadata;
  tensors: GgufTensorInput[];
}

/** A tensor listed in a GGUF file. */
export interface GgufTensorInfo {
  name: string;
  /** Row-major shape (the ggml dims reversed). */
  shape: number[];
  /** ggml dims as stored: fastest-varying first. */
  dims: number[];
  /** ggml type id and name (`F16`, `Q8_0` …; `type<N>` for ids this module does not know). */
  typeId: number;
  type: string;
  /** Absolute byte offset of the data in the file. */
  offset: number;
  /** Size in bytes, when the type is known. */
  byteLength: number | undefined;
}

/** A parsed GGUF header. */
export interface GgufFile {
  version: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Absolute byte offset of the data section. */
  dataOffset: number;
}

const magic = 0x46554747; // "GGUF" read as a little-endian u32
const maxDims = 4;
const maxNameBytes = 63;
const defaultAlignment = 32;

// ---------------------------------------------------------------------------------------------
// writing

/** A growable little-endian byte buffer. */
class ByteWriter {
  bytes = new Uint8Array(1 << 16);
  view = new DataView(this.bytes.buffer);
  length = 0;
  private encoder = new TextEncoder();

  private reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.view.setInt8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.view.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.view.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: bigint): void { this.reserve(8); this.view.setBigUint64(this.length, v, true); this.length += 8; }
  i64(v: bigint): void { this.reserve(8); this.view.setBigInt64(this.length, v, true); this.length += 8; }
  string(s: string): void {
    const encoded = this.encoder.encode(s);
    this.u64(BigInt(encoded.length));
    this.reserve(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }
  padTo(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.reserve(n);
    this.bytes.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

const numberRanges: Record<GgufNumberType, [number, number]> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff], u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff], f32: [-Infinity, Infinity], f64: [-Infinity, Infinity],
};

function writeNumber(w: ByteWriter, type: GgufNumberType, v: number, key: string): void {
  const [min, max] = numberRanges[type];
  if (typeof v !== 'number' || ((type !== 'f32' && type !== 'f64') && (!Number.isInteger(v) || v < min || v > max))) {
    throw new GgufFormatError(`metadata "${key}": ${String(v)} is not a valid ${type}`);
  }
  w[type](v);
}

function writeScalar(w: ByteWriter, type: GgufScalarType, v: unknown, key: string): void {
  switch (type) {
    case 'u64':
    case 'i64':
      if (typeof v !== 'bigint') throw new GgufFormatError(`metadata "${key}": ${type} values are bigints`);
      if (type === 'u64' ? v < 0n || v >= 1n << 64n : v < -(1n << 63n) || v >= 1n << 63n) throw new GgufFormatError(`metadata "${key}": ${v} is not a valid ${type}`);
      w[type](v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new GgufFormatError(`metadata "${key}": bool values are booleans`);
      w.u8(v ? 1 : 0);
      return;
    case 'string':
      if (typeof v !== 'string') throw new GgufFormatError(`metadata "${key}": string values are strings`);
      w.string(v);
      return;
    default:
      writeNumber(w, type, v as number, key);
  }
}

function writeValue(w: ByteWriter, value: GgufValue, key: string): void {
  if (value.type !== 'array') {
    writeScalar(w, value.type, value.value, key);
    return;
  }
  const itemTypeId = valueTypeIds[value.itemType];
  if (itemTypeId === undefined) throw new GgufFormatError(`metadata "${key}": unknown array item type "${String(value.itemType)}"`);
  w.u32(itemTypeId);
  const items = value.value as ArrayLike<unknown>;
  w.u64(BigInt(items.length));
  for (let i = 0; i < items.length; i++) {
    if (value.itemType === 'array') {
      const inner = items[i] as GgufArray;
      if (inner?.type !== 'array') throw new GgufFormatError(`metadata "${key}": item ${i} is not an array`);
      writeValue(w, inner, `${key}[${i}]`);
    } else {
      writeScalar(w, value.itemType, items[i], `${key}[${i}]`);
    }
  }
}

/** The alignment `metadata` asks for (`general.alignment`, a power of two), or 32. */
function alignmentOf(metadata: GgufMetadata): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return defaultAlignment;
  if (v.type !== 'u32' || v.value <= 0 || (v.value & (v.value - 1)) !== 0) throw new GgufFormatError('metadata "general.alignment" must be a u32 power of two');
  return v.value;
}

function tensorByteLength(t: GgufTensorInput): number {
  const spec = ggmlTypes[t.type]!;
  return (elementCount(t.shape) / spec.block) * spec.bytes;
}

/** Encodes the header (through the padding before the data section) and each tensor's relative offset. */
function encodeHeader(content: GgufContent): { header: Uint8Array; alignment: number; offsets: number[] } {
  const alignment = alignmentOf(content.metadata);
  const w = new ByteWriter();
  w.u32(magic);
  w.u32(3);
  w.u64(BigInt(content.tensors.length));
  w.u64(BigInt(content.metadata.size));
  for (const [key, value] of content.metadata) {
    w.string(key);
    w.u32(valueTypeIds[value.type]);
    writeValue(w, value, key);
  }
  const names = new Set<string>();
  const offsets: number[] = [];
  let offset = 0;
  for (const t of content.tensors) {
    if (names.has(t.name)) throw new GgufFormatError(`tensor "${t.name}" is listed twice`);
    names.add(t.name);
    if (new TextEncoder().encode(t.name).length > maxNameBytes) throw new GgufFormatError(`tensor name "${t.name}" is longer than ggml's ${maxNameBytes} bytes`);
    if (!(t.type in ggmlTypes) || !(['F32', 'F16', 'BF16'].includes(t.type) || isQuantType(t.type))) {
      throw new UnsupportedDtypeError(`tensor "${t.name}": the writer stores F32, F16, BF16, Q8_0, Q4_0, Q4_K or Q6_K, not ${t.type}`);
    }
    if (t.shape.length > maxDims) throw new GgufFormatError(`tensor "${t.name}" has ${t.shape.length} dims; ggml has at most ${maxDims}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ShapeMismatchError(`tensor "${t.name}": shape [${t.shape.join(', ')}] is not a list of sizes`);
    if (t.data.length !== elementCount(t.shape)) throw new ShapeMismatchError(`tensor "${t.name}": ${t.data.length} values, but shape [${t.shape.join(', ')}] has ${elementCount(t.shape)}`);
    if (isQuantType(t.type) && (t.shape.at(-1) ?? 1) % QUANT_FORMATS[t.type].block !== 0) {
      throw new ShapeMismatchError(`tensor "${t.name}": ${t.type} needs rows of whole ${QUANT_FORMATS[t.type].block}-element blocks; shape [${t.shape.join(', ')}]`);
    }
    const dims = t.shape.length === 0 ? [1] : [...t.shape].reverse();
    w.string(t.name);
    w.u32(dims.length);
    for (const d of dims) w.u64(BigInt(d));
    w.u32(ggmlTypes[t.type]!.id);
    w.u64(BigInt(offset));
    offsets.push(offset);
    offset += Math.ceil(tensorByteLength(t) / alignment) * alignment;
  }
  w.padTo(alignment);
  return { header: w.result(), alignment, offsets };
}

function* contentChunks(content: GgufContent): Generator<Uint8Array> {
  const { header, alignment } = encodeHeader(content);
  yield header;
  for (const t of content.tensors) {
    const bytes = isQuantType(t.type) ? quantize(t.type, t.data) : encodeFloats(t.data, t.type);
    yield bytes;
    const pad = (alignment - (bytes.length % alignment)) % alignment;
    if (pad > 0) yield new Uint8Array(pad);
  }
}

/**
 * Serialises GGUF v3 content in memory. Metadata keeps insertion order and tensors keep list
 * order, so the same content always gives the same bytes.
 *
 * @example
 * const bytes = serializeGguf({
 *   metadata: new Map([['general.architecture', gguf.str('llama')]]),
 *   tensors: [{ name: 'output_norm.weight', shape: [64], type: 'F32', data: new Float32Array(64).fill(1) }],
 * });
 */
export function serializeGguf(content: GgufContent): Uint8Array {
  const chunks = [...contentChunks(content)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Writes GGUF v3 content to a file, tensor by tensor, atomically. Same bytes as {@link serializeGguf}.
 *
 * @example
 * await writeGgufFile('model.gguf', { metadata, tensors });
 */
export async function writeGgufFile(path: string, content: GgufContent): Promise<void> {
  await writeChunksAtomically(path, contentChunks(content));
}

// ---------------------------------------------------------------------------------------------
// reading

/** A bounds-checked little-endian cursor. */
class ByteReader {
  at = 0;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder('utf-8');
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.at + n > this.bytes.length) throw new GgufFormatError(`gguf: truncated: reading ${what} at byte ${this.at} needs ${n} bytes, the file has ${this.bytes.length}`);
  }
  u8(): number { this.need(1, 'a u8'); return this.view.getUint8(this.at++); }
  i8(): number { this.need(1, 'an i8'); return this.view.getInt8(this.at++); }
  u16(): number { this.need(2, 'a u16'); const v = this.view.getUint16(this.at, true); this.at += 2; return v; }
  i16(): number { this.need(2, 'an i16'); const v = this.view.getInt16(this.at, true); this.at += 2; return v; }
  u32(): number { this.need(4, 'a u32'); const v = this.view.getUint32(this.at, true); this.at += 4; return v; }
  i32(): number { this.need(4, 'an i32'); const v = this.view.getInt32(this.at, true); this.at += 4; return v; }
  f32(): number { this.need(4, 'an f32'); const v = this.view.getFloat32(this.at, true); this.at += 4; return v; }
  f64(): number { this.need(8, 'an f64'); const v = this.view.getFloat64(this.at, true); this.at += 8; return v; }
  u64(): bigint { this.need(8, 'a u64'); const v = this.view.getBigUint64(this.at, true); this.at += 8; return v; }
  i64(): bigint { this.need(8, 'an i64'); const v = this.view.getBigInt64(this.at, true); this.at += 8; return v; }
  /** A u64 that must fit a JS number and, when `perItem` bytes each, the rest of the file. */
  count(what: string, perItem = 0): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || (perItem > 0 && Number(v) * perItem > this.bytes.length - this.at)) {
      throw new GgufFormatError(`gguf: truncated or corrupt: ${what} ${v} needs more than the ${this.bytes.length - this.at} bytes left`);
    }
    return Number(v);
  }
  string(what: string): string {
    const n = this.count(`length of ${what}`);
    this.need(n, what);
    const s = this.decoder.decode(this.bytes.subarray(this.at, this.at + n));
    this.at += n;
    return s;
  }
}

function readScalar(r: ByteReader, type: GgufScalarType, key: string): number | bigint | boolean | string {
  switch (type) {
    case 'bool': {
      const b = r.u8();
      if (b > 1) throw new GgufFormatError(`gguf: metadata "${key}": bool byte ${b} is neither 0 nor 1`);
      return b === 1;
    }
    case 'string':
      return r.string(`metadata "${key}"`);
    default:
      return r[type]();
  }
}

function readValue(r: ByteReader, typeId: number, key: string): GgufValue {
  const type = valueTypeNames[typeId];
  if (type === undefined) throw new GgufFormatError(`gguf: metadata "${key}" has unknown value type ${typeId}`);
  if (type !== 'array') return { type, value: readScalar(r, type, key) } as GgufValue;
  const itemTypeId = r.u32();
  const itemType = valueTypeNames[itemTypeId];
  if (itemType === undefined) throw new GgufFormatError(`gguf: metadata "${key}" is an array of unknown type ${itemTypeId}`);
  const n = r.count(`metadata "${key}" array length`, 1);
  const items: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) {
    items[i] = itemType === 'array' ? readValue(r, valueTypeIds.array, `${key}[${i}]`) : readScalar(r, itemType, key);
  }
  return { type: 'array', itemType, value: items } as GgufArray;
}

/**
 * Parses a GGUF (v2 or v3) header: metadata and tensor infos, checking that every tensor lies
 * inside the file. Tensor data is not decoded (see {@link ggufTensorData}).
 *
 * @example
 * const file = parseGguf(await readFile('model.gguf'));
 * file.metadata.get('general.architecture'); // { type: 'string', value: 'llama' }
 */
export function parseGguf(bytes: Uint8Array): GgufFile {
  const r = new ByteReader(bytes);
  if (bytes.length < 4 || r.u32() !== magic) throw new GgufFormatError('gguf: bad magic: not a GGUF file');
  const version = r.u32();
  if (version !== 2 && version !== 3) throw new GgufFormatError(`gguf: version ${version} is not supported (only 2 and 3)`);
  const tensorCount = r.count('tensor count', 8);
  const kvCount = r.count('metadata count', 12);
  const metadata: GgufMetadata = new Map();
  for (let i = 0; i < kvCount; i++) {
    const key = r.string(`metadata key ${i}`);
    if (metadata.has(key)) throw new GgufFormatError(`gguf: metadata "${key}" appears twice`);
    metadata.set(key, readValue(r, r.u32(), key));
  }
  const alignment = alignmentOf(metadata);
  const infos: Array<Omit<GgufTensorInfo, 'offset'> & { relative: number }> = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = r.string(`tensor name ${i}`);
    const nDims = r.u32();
    if (nDims < 1 || nDims > maxDims) throw new GgufFormatError(`gguf: tensor "${name}" has ${nDims} dims (1 to ${maxDims} allowed)`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(r.count(`tensor "${name}" dim`));
    const typeId = r.u32();
    const relative = r.count(`tensor "${name}" offset`);
    if (relative % alignment !== 0) throw new GgufFormatError(`gguf: tensor "${name}" offset ${relative} is not a multiple of the alignment ${alignment}`);
    const type = ggmlTypeNames[typeId] ?? `type${typeId}`;
    const spec = ggmlTypes[type];
    const n = elementCount(dims);
    if (spec && dims[0]! % spec.block !== 0) throw new GgufFormatError(`gguf: tensor "${name}" has rows of ${dims[0]} elements, not a whole number of ${type} blocks of ${spec.block}`);
    const byteLength = spec ? (n / spec.block) * spec.bytes : undefined;
    infos.push({ name, dims, shape: [...dims].reverse(), typeId, type, relative, byteLength });
  }
  const dataOffset = Math.ceil(r.at / alignment) * alignment;
  const tensors: GgufTensorInfo[] = [];
  const seen = new Set<string>();
  for (const { relative, ...info } of infos) {
    if (seen.has(info.name)) throw new GgufFormatError(`gguf: tensor "${info.name}" is listed twice`);
    seen.add(info.name);
    const offset = dataOffset + relative;
    if (offset + (info.byteLength ?? 0) > bytes.length) throw new GgufFormatError(`gguf: truncated: tensor "${info.name}" ends at byte ${offset + (info.byteLength ?? 0)}, the file has ${bytes.length}`);
    tensors.push({ ...info, offset });
  }
  return { version, metadata, tensors, alignment, dataOffset };
}

/**
 * Decodes one tensor of a parsed GGUF file (F32, F16, BF16, F64, Q8_0, Q4_0, Q4_K or Q6_K) to f32, row-major.
 *
 * @example
 * const info = file.tensors.find((t) => t.name === 'token_embd.weight')!;
 * const data = ggufTensorData(bytes, info); // info.shape = [vocab, hidden]
 */
export function ggufTensorData(bytes: Uint8Array, info: GgufTensorInfo): Float32Array {
  if (isQuantType(info.type)) return dequantize(info.type, bytes, elementCount(info.shape), info.offset);
  if (info.type !== 'F32' && info.type !== 'F16' && info.type !== 'BF16' && info.type !== 'F64') {
    throw new UnsupportedDtypeError(`gguf: tensor "${info.name}" is ${info.type}; only F32, F16, BF16, F64, Q8_0, Q4_0, Q4_K and Q6_K are decoded`);
  }
  return decodeFloats(bytes, info.offset, elementCount(info.shape), info.type);
}

/**
 * A quantised tensor of a parsed GGUF file as it is stored (a view of `bytes`, not a copy): its
 * ggml blocks, row-major, ready for `Backend.uploadQuantized` without dequantising.
 *
 * @example
 * const q = ggufTensorBytes(bytes, info); // { type: 'Q4_K', rows: 1536, cols: 576, bytes }
 */
export function ggufTensorBytes(bytes: Uint8Array, info: GgufTensorInfo): { type: QuantType; rows: number; cols: number; bytes: Uint8Array } {
  if (!isQuantType(info.type)) throw new UnsupportedDtypeError(`gguf: tensor "${info.name}" is ${info.type}, not Q8_0, Q4_0, Q4_K or Q6_K`);
  const cols = info.dims[0]!, rows = elementCount(info.dims) / cols;
  return { type: info.type, rows, cols, bytes: bytes.subarray(info.offset, info.offset + info.byteLength!) };
}

/**
 * A GGUF file's bytes and parsed header (errors name the file).
 *
 * @example
 * const { bytes, file } = await readGgufHeader('model.gguf');
 */
export async function readGgufHeader(path: string): Promise<{ bytes: Uint8Array; file: GgufFile }> {
  const bytes = await readFile(path);
  try {
    return { bytes, file: parseGguf(bytes) };
  } catch (e) {
    if (e instanceof GgufFormatError) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

/**
 * Reads a GGUF file: its header and every tensor decoded to f32 (GGUF tensor names, row-major shapes).
 *
 * @example
 * const { file, tensors } = await readGgufFile('adapter.gguf');
 */
export async function readGgufFile(path: string): Promise<{ file: GgufFile; tensors: TensorMap }> {
  const { bytes, file } = await readGgufHeader(path);
  const tensors: TensorMap = new Map();
  for (const info of file.tensors) tensors.set(info.name, { shape: info.shape, data: ggufTensorData(bytes, info) });
  return { file, tensors };
}

/**
 * A metadata value without its type tag (arrays as JS arrays), or undefined when absent.
 *
 * @example
 * ggufValue(file.metadata, 'llama.block_count'); // 2
 */
export function ggufValue(metadata: GgufMetadata, key: string): unknown {
  const v = metadata.get(key);
  if (v === undefined) return undefined;
  const plain = (x: GgufValue): unknown => (x.type === 'array' ? Array.from(x.value as ArrayLike<GgufValue | unknown>, (i) => (x.itemType === 'array' ? plain(i as GgufValue) : i)) : x.value);
  return plain(v);
}
