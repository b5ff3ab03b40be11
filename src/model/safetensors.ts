/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON
 * header (`{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }`,
 * offsets relative to the byte after the header), then the tensors' bytes, row-major little-endian.
 *
 * Reading converts F32, F16, BF16 and F64 to Float32Array. Writing (F32, F16 or BF16) is deterministic:
 * tensors sorted by name, a fixed key order in the header and the header padded with spaces to a
 * multiple of 8 bytes, so identical tensors always give byte-identical files (adapter content hashes
 * depend on it).
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { elementCount } from './tensor-map.ts';
import type { HostTensor, TensorMap } from './tensor-map.ts';

/** Element types this module reads. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16';
/** Element types this module writes. */
export type SafetensorsWriteDtype = 'F32' | 'F16' | 'BF16';

const dtypeBytes: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

/** Malformed safetensors bytes: truncated, a bad header, offsets out of range or overlapping. */
export class SafetensorsFormatError extends Error {
  override name = 'SafetensorsFormatError';
}

/** A tensor whose dtype this module does not convert (integer, bool, FP8 …). */
export class UnsupportedDtypeError extends Error {
  override name = 'UnsupportedDtypeError';
}

/** A tensor whose data length does not match its shape. */
export class ShapeMismatchError extends Error {
  override name = 'ShapeMismatchError';
}

/** A parsed safetensors file. */
export interface SafetensorsContents {
  tensors: TensorMap;
  /** The header's `__metadata__` (string → string), empty when absent. */
  metadata: Record<string, string>;
  /** Each tensor's dtype as stored in the file. */
  dtypes: Map<string, SafetensorsDtype>;
}

/** Options of {@link parseSafetensors}. */
export interface ParseSafetensorsOptions {
  /**
   * Let F32 tensors be views of `bytes` when aligned, instead of copies (default false). Only for
   * bytes the caller will not modify or reuse.
   */
  shareMemory?: boolean;
}

/** Largest header the reference implementation accepts (100 MB). */
const maxHeaderBytes = 100_000_000;

// ---------------------------------------------------------------------------------------------
// half-precision conversion

let f16Table: Float32Array | undefined;

/** F16 bit patterns → f32 values, all 65536 of them (built once, 256 KiB). */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24;
    else if (exp === 31) table[h] = mant ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

/**
 * Decodes IEEE half-precision bit patterns to f32.
 *
 * @example
 * halfToFloat32(new Uint16Array([0x3c00])); // Float32Array [1]
 */
export function halfToFloat32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const table = f16ToF32Table();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]!]!;
  return out;
}

/** One f32 bit pattern to the nearest half-precision bit pattern (round to nearest, ties to even). */
function f32BitsToHalf(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (h & 1) !== 0)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is correct (up to inf)
  return sign | h;
}

/**
 * Encodes f32 values as IEEE half-precision bit patterns, rounding to nearest (ties to even);
 * values beyond ±65504 become ±Infinity.
 *
 * @example
 * float32ToHalf(new Float32Array([1, -2])); // Uint16Array [0x3c00, 0xc000]
 */
export function float32ToHalf(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToHalf(bits[i]!);
  return out;
}

/**
 * Decodes bfloat16 bit patterns (the top half of an f32) to f32.
 *
 * @example
 * bfloat16ToFloat32(new Uint16Array([0x3f80])); // Float32Array [1]
 */
export function bfloat16ToFloat32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) u32[i] = bits[i]! << 16;
  return out;
}

/**
 * Encodes f32 values as bfloat16 bit patterns, rounding to nearest (ties to even); NaN stays NaN.
 *
 * @example
 * float32ToBfloat16(new Float32Array([1])); // Uint16Array [0x3f80]
 */
export function float32ToBfloat16(values: Float32Array, out: Uint16Array = new Uint16Array(values.length)): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

/** True when this machine stores numbers little-endian (typed-array views are then the file's layout). */
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndian(): void {
  if (!littleEndian) throw new Error('safetensors: big-endian machines are not supported');
}

/** A copy of `length` bytes at `start` that starts on an 8-byte boundary (typed-array views need alignment). */
function alignedSlice(bytes: Uint8Array, start: number, length: number): ArrayBuffer {
  const copy = new Uint8Array(length);
  copy.set(bytes.subarray(start, start + length));
  return copy.buffer;
}

/**
 * Decodes `count` little-endian elements of `dtype` at `bytes[start..]` to a Float32Array.
 * F32 data is a view of `bytes` when `share` is set and the data is 4-byte aligned.
 */
export function decodeFloats(bytes: Uint8Array, start: number, count: number, dtype: SafetensorsDtype, share = false): Float32Array {
  assertLittleEndian();
  const size = dtypeBytes[dtype];
  const length = count * size;
  const address = bytes.byteOffset + start;
  const aligned = address % size === 0;
  const buffer = aligned ? bytes.buffer : alignedSlice(bytes, start, length);
  const offset = aligned ? address : 0;
  switch (dtype) {
    case 'F32': {
      const view = new Float32Array(buffer, offset, count);
      return share || !aligned ? view : view.slice();
    }
    case 'F16':
      return halfToFloat32(new Uint16Array(buffer, offset, count));
    case 'BF16':
      return bfloat16ToFloat32(new Uint16Array(buffer, offset, count));
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, offset, count));
  }
}

/**
 * The bytes of `data` stored as `dtype`, little-endian.
 *
 * @example
 * encodeFloats(new Float32Array([1]), 'F16'); // Uint8Array [0x00, 0x3c]
 */
export function encodeFloats(data: Float32Array, dtype: SafetensorsWriteDtype): Uint8Array {
  assertLittleEndian();
  switch (dtype) {
    case 'F32':
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case 'F16': {
      const half = float32ToHalf(data);
      return new Uint8Array(half.buffer);
    }
    case 'BF16': {
      const half = float32ToBfloat16(data);
      return new Uint8Array(half.buffer);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// reading

interface HeaderEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isSize(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Reads the 8-byte header length and the JSON header, checking each entry's fields. */
function parseHeader(bytes: Uint8Array, source: string): { entries: HeaderEntry[]; metadata: Record<string, string>; dataStart: number } {
  if (bytes.length < 8) throw new SafetensorsFormatError(`${source}: truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) throw new SafetensorsFormatError(`${source}: header length ${headerLength} is over the 100 MB limit (not a safetensors file?)`);
  const n = Number(headerLength);
  if (8 + n > bytes.length) throw new SafetensorsFormatError(`${source}: truncated: the header needs ${n} bytes, the file has ${bytes.length - 8} after the length`);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(8, 8 + n));
  if (!text.startsWith('{')) throw new SafetensorsFormatError(`${source}: bad header: it does not start with '{'`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsFormatError(`${source}: bad header JSON: ${(e as Error).message}`);
  }
  if (!isRecord(json)) throw new SafetensorsFormatError(`${source}: bad header: not a JSON object`);
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(value)) throw new SafetensorsFormatError(`${source}: bad header: __metadata__ is not an object`);
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new SafetensorsFormatError(`${source}: bad header: __metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (!isRecord(value)) throw new SafetensorsFormatError(`${source}: bad header: tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = value;
    if (typeof dtype !== 'string') throw new SafetensorsFormatError(`${source}: bad header: tensor "${name}" has no dtype`);
    if (!Array.isArray(shape) || !shape.every(isSize)) throw new SafetensorsFormatError(`${source}: bad header: tensor "${name}" shape is not a list of sizes`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize) || (offsets[0] as number) > (offsets[1] as number)) {
      throw new SafetensorsFormatError(`${source}: bad header: tensor "${name}" data_offsets is not [begin, end]`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin: offsets[0] as number, end: offsets[1] as number });
  }
  return { entries, metadata, dataStart: 8 + n };
}

/** Checks sizes against shape × dtype, and that the tensors tile the data section exactly (no overlap, no gap). */
function checkLayout(entries: HeaderEntry[], dataLength: number, source: string): void {
  for (const e of entries) {
    const size = dtypeBytes[e.dtype as SafetensorsDtype];
    if (size === undefined) continue; // reported when (if) the tensor is decoded
    const expected = elementCount(e.shape) * size;
    if (e.end - e.begin !== expected) {
      throw new ShapeMismatchError(`${source}: tensor "${e.name}" has ${e.end - e.begin} bytes, but shape [${e.shape.join(', ')}] × ${e.dtype} needs ${expected}`);
    }
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous = '(start of data)';
  for (const e of sorted) {
    if (e.end > dataLength) throw new SafetensorsFormatError(`${source}: truncated: tensor "${e.name}" ends at byte ${e.end} of the data, which has ${dataLength}`);
    if (e.begin < at) throw new SafetensorsFormatError(`${source}: tensor "${e.name}" overlaps "${previous}"`);
    if (e.begin > at) throw new SafetensorsFormatError(`${source}: ${e.begin - at} unused bytes before tensor "${e.name}"`);
    at = e.end;
    previous = e.name;
  }
  if (at !== dataLength) throw new SafetensorsFormatError(`${source}: ${dataLength - at} bytes after the last tensor are not part of any tensor`);
}

/**
 * Parses safetensors bytes into f32 tensors.
 *
 * @example
 * const { tensors, metadata } = parseSafetensors(await readFile('adapter_model.safetensors'));
 * tensors.get('lm_head.weight')?.shape; // [vocab, hidden]
 */
export function parseSafetensors(bytes: Uint8Array, options: ParseSafetensorsOptions = {}, source = 'safetensors'): SafetensorsContents {
  const { entries, metadata, dataStart } = parseHeader(bytes, source);
  const dataLength = bytes.length - dataStart;
  checkLayout(entries, dataLength, source);
  const tensors: TensorMap = new Map();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const e of entries) {
    if (!(e.dtype in dtypeBytes)) throw new UnsupportedDtypeError(`${source}: tensor "${e.name}" has dtype ${e.dtype}; only F32, F16, BF16 and F64 are read`);
    const dtype = e.dtype as SafetensorsDtype;
    const data = decodeFloats(bytes, dataStart + e.begin, elementCount(e.shape), dtype, options.shareMemory ?? false);
    tensors.set(e.name, { shape: e.shape, data });
    dtypes.set(e.name, dtype);
  }
  return { tensors, metadata, dtypes };
}

/**
 * Reads a safetensors file into f32 tensors (F32 tensors share the file's buffer, no copy).
 *
 * @example
 * const { tensors } = await readSafetensorsFile('model/model.safetensors');
 */
export async function readSafetensorsFile(path: string): Promise<SafetensorsContents> {
  const bytes = await readFile(path);
  return parseSafetensors(bytes, { shareMemory: true }, path);
}

/** A model directory whose weights cannot be found or are inconsistent. */
export class ModelWeightsError extends Error {
  override name = 'ModelWeightsError';
}

/**
 * Reads a Hugging Face model directory's weights: `model.safetensors`, or the shards listed in
 * `model.safetensors.index.json` (every tensor of its `weight_map` must be in the shard it names).
 *
 * @example
 * const weights = await readModelWeights('models/smollm2-135m');
 * weights.get('model.embed_tokens.weight')?.shape; // [49152, 576]
 */
export async function readModelWeights(dir: string): Promise<TensorMap> {
  const indexPath = join(dir, 'model.safetensors.index.json');
  let indexText: string | undefined;
  try {
    indexText = await readFile(indexPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (indexText === undefined) {
    try {
      return (await readSafetensorsFile(join(dir, 'model.safetensors'))).tensors;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new ModelWeightsError(`${dir}: neither model.safetensors nor model.safetensors.index.json exists`);
      throw e;
    }
  }
  let index: unknown;
  try {
    index = JSON.parse(indexText);
  } catch (e) {
    throw new ModelWeightsError(`${indexPath}: bad JSON: ${(e as Error).message}`);
  }
  const weightMap = isRecord(index) ? index['weight_map'] : undefined;
  if (!isRecord(weightMap) || !Object.values(weightMap).every((f) => typeof f === 'string')) {
    throw new ModelWeightsError(`${indexPath}: weight_map is not an object of tensor name → file name`);
  }
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(weightMap as Record<string, string>)) {
    if (file.includes('/') || file.includes('\\') || file.startsWith('.')) throw new ModelWeightsError(`${indexPath}: shard name "${file}" is not a plain file name`);
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const tensors: TensorMap = new Map();
  for (const [file, names] of [...byFile].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const shard = await readSafetensorsFile(join(dir, file));
    for (const name of names) {
      const t = shard.tensors.get(name);
      if (!t) throw new ModelWeightsError(`${join(dir, file)}: tensor "${name}" listed in the index is not in this shard`);
      tensors.set(name, t);
    }
  }
  return tensors;
}

// ---------------------------------------------------------------------------------------------
// writing

/** Options of {@link serializeSafetensors} and {@link writeSafetensorsFile}. */
export interface WriteSafetensorsOptions {
  /** Stored element type (default F32). */
  dtype?: SafetensorsWriteDtype;
  /** String → string pairs for the header's `__metadata__` (omitted when empty). */
  metadata?: Record<string, string>;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkTensor(name: string, t: HostTensor): void {
  if (!t.shape.every((d) => isSize(d))) throw new ShapeMismatchError(`tensor "${name}": shape [${t.shape.join(', ')}] is not a list of sizes`);
  const n = elementCount(t.shape);
  if (t.data.length !== n) throw new ShapeMismatchError(`tensor "${name}": ${t.data.length} values, but shape [${t.shape.join(', ')}] has ${n}`);
}

/** The header bytes (length prefix included) and the sorted tensor names, for the writers. */
function encodeHeader(tensors: TensorMap, dtype: SafetensorsWriteDtype, metadata: Record<string, string> | undefined): { header: Uint8Array; names: string[] } {
  const names = [...tensors.keys()].sort(byName);
  if (names.includes('__metadata__')) throw new SafetensorsFormatError('a tensor cannot be named "__metadata__"');
  const parts: string[] = [];
  const metaKeys = Object.keys(metadata ?? {}).sort(byName);
  if (metaKeys.length > 0) {
    for (const k of metaKeys) {
      if (typeof metadata![k] !== 'string') throw new SafetensorsFormatError(`metadata "${k}" is not a string`);
    }
    parts.push(`"__metadata__":{${metaKeys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata![k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    checkTensor(name, t);
    const end = offset + t.data.length * dtypeBytes[dtype];
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, names };
}

/**
 * Serialises tensors as safetensors bytes, deterministically (sorted names, fixed header layout).
 *
 * @example
 * const bytes = serializeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]), { dtype: 'F16' });
 */
export function serializeSafetensors(tensors: TensorMap, options: WriteSafetensorsOptions = {}): Uint8Array {
  const dtype = options.dtype ?? 'F32';
  const { header, names } = encodeHeader(tensors, dtype, options.metadata);
  let total = header.length;
  for (const name of names) total += tensors.get(name)!.data.length * dtypeBytes[dtype];
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.length;
  for (const name of names) {
    const bytes = encodeFloats(tensors.get(name)!.data, dtype);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/**
 * Writes byte chunks to `path` atomically: into a temporary file beside it, synced, then renamed
 * into place, so readers never see a partial file. Chunks are produced lazily, one at a time.
 *
 * @example
 * await writeChunksAtomically('out/x.bin', [header, body]);
 */
export async function writeChunksAtomically(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  const file = await open(tmp, 'w');
  try {
    for (const chunk of chunks) {
      let written = 0;
      while (written < chunk.length) written += (await file.write(chunk, written)).bytesWritten;
    }
    await file.sync();
    await file.close();
    await rename(tmp, path);
  } catch (e) {
    await file.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Writes tensors as a safetensors file, tensor by tensor (no whole-file buffer), atomically.
 * Same bytes as {@link serializeSafetensors}.
 *
 * @example
 * await writeSafetensorsFile('out/model.safetensors', weights, { dtype: 'BF16' });
 */
export async function writeSafetensorsFile(path: string, tensors: TensorMap, options: WriteSafetensorsOptions = {}): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  const { header, names } = encodeHeader(tensors, dtype, options.metadata);
  function* chunks(): Generator<Uint8Array> {
    yield header;
    for (const name of names) yield encodeFloats(tensors.get(name)!.data, dtype);
  }
  await writeChunksAtomically(path, chunks());
}
