/**
 * ggml quantised block formats on whole tensors: Q8_0, Q4_0 (32-element blocks,
 * `ggml-quants-32.ts`), Q4_K and Q6_K (256-element super-blocks, `ggml-quants-k.ts`), exactly as
 * llama.cpp lays them out in GGUF files. A tensor's elements are quantised row-major in blocks of
 * consecutive elements, so a [rows, cols] matrix is `rows` rows of `cols / block` blocks.
 */
import { q4_0, q8_0 } from './ggml-quants-32.ts';
import type { BlockCodec } from './ggml-quants-32.ts';
import { q4_K, q6_K } from './ggml-quants-k.ts';

/** The quantised formats this project reads, writes and computes on. */
export type QuantType = 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';

/** Elements per block, bytes per block, ggml type id. */
export interface QuantFormat {
  readonly block: number;
  readonly bytes: number;
  readonly ggmlId: number;
}

/**
 * The formats' block facts.
 *
 * @example
 * QUANT_FORMATS.Q4_K; // { block: 256, bytes: 144, ggmlId: 12 }
 */
export const QUANT_FORMATS: Readonly<Record<QuantType, QuantFormat>> = {
  Q4_0: { block: 32, bytes: 18, ggmlId: 2 },
  Q8_0: { block: 32, bytes: 34, ggmlId: 8 },
  Q4_K: { block: 256, bytes: 144, ggmlId: 12 },
  Q6_K: { block: 256, bytes: 210, ggmlId: 14 },
};

const codecs: Record<QuantType, BlockCodec> = { Q8_0: q8_0, Q4_0: q4_0, Q4_K: q4_K, Q6_K: q6_K };

/** A length that is not a whole number of blocks, a byte array of the wrong size, or an unknown type. */
export class GgmlQuantError extends Error {
  override name = 'GgmlQuantError';
}

/**
 * Whether `type` names a format of {@link QUANT_FORMATS}.
 *
 * @example
 * isQuantType('Q4_K'); // true
 */
export function isQuantType(type: string): type is QuantType {
  return Object.hasOwn(QUANT_FORMATS, type);
}

function formatOf(type: QuantType, elements: number): QuantFormat {
  const f = QUANT_FORMATS[type];
  if (!f) throw new GgmlQuantError(`unknown quantised type ${String(type)}`);
  if (!Number.isSafeInteger(elements) || elements < 0 || elements % f.block !== 0) {
    throw new GgmlQuantError(`${type}: ${elements} elements is not a whole number of blocks of ${f.block}`);
  }
  return f;
}

/**
 * Bytes of `elements` values in `type` (elements a multiple of the block size).
 *
 * @example
 * quantizedByteLength('Q8_0', 64); // 68
 */
export function quantizedByteLength(type: QuantType, elements: number): number {
  const f = formatOf(type, elements);
  return (elements / f.block) * f.bytes;
}

/**
 * Quantises f32 values (a multiple of the block size; any row-major tensor whose rows are) into
 * `type`'s blocks. Non-finite values are refused.
 *
 * @example
 * const bytes = quantize('Q4_0', new Float32Array(64).map((_, i) => i / 64)); // 36 bytes
 */
export function quantize(type: QuantType, data: Float32Array, out?: Uint8Array): Uint8Array {
  const f = formatOf(type, data.length);
  const length = (data.length / f.block) * f.bytes;
  const bytes = out ?? new Uint8Array(length);
  if (bytes.length < length) throw new GgmlQuantError(`${type}: output of ${bytes.length} bytes, needs ${length}`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new GgmlQuantError(`${type}: element ${i} is ${data[i]}; only finite values can be quantised`);
  }
  const codec = codecs[type];
  for (let b = 0; b < data.length / f.block; b++) codec.encode(data, b * f.block, bytes, b * f.bytes);
  return bytes;
}

/**
 * Dequantises `elements` values of `type` from `bytes` (starting at byte `offset`) to f32.
 *
 * @example
 * dequantize('Q4_0', bytes, 64); // Float32Array(64), within d/2 of the original values
 */
export function dequantize(type: QuantType, bytes: Uint8Array, elements: number, offset = 0, out?: Float32Array): Float32Array {
  const f = formatOf(type, elements);
  const length = (elements / f.block) * f.bytes;
  if (offset < 0 || offset + length > bytes.length) throw new GgmlQuantError(`${type}: ${elements} elements need ${length} bytes from ${offset}, there are ${bytes.length}`);
  const y = out ?? new Float32Array(elements);
  if (y.length < elements) throw new GgmlQuantError(`${type}: output of ${y.length} floats, needs ${elements}`);
  const codec = codecs[type];
  for (let b = 0; b < elements / f.block; b++) codec.decode(bytes, offset + b * f.bytes, y, b * f.block);
  return y;
}
