/**
 * A tiny WebAssembly binary emitter: just enough of the instruction set (i32, f32, 128-bit SIMD,
 * relaxed SIMD's fused multiply-add and integer dot product) and module layout (one imported memory, exported functions)
 * for the generated matmul kernels of `matmul-wasm.ts` and the quantised-block kernels of
 * `matmul-quant-kernels.ts`. Instructions are plain byte arrays that
 * the caller concatenates; structured control takes its body as a list of such arrays.
 */

/** Bytes of one or more instructions. */
export type Code = readonly number[];

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(name: string): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: readonly Code[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Concatenates instruction sequences. */
export function seq(...parts: readonly Code[]): number[] {
  return parts.flat();
}

// Variables and constants.
export const get = (i: number): Code => [0x20, ...uleb(i)];
export const set = (i: number): Code => [0x21, ...uleb(i)];
export const tee = (i: number): Code => [0x22, ...uleb(i)];
export const i32c = (v: number): Code => [0x41, ...sleb(v)];
export function f32c(v: number): Code {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return [0x43, ...b];
}

// i32 arithmetic and comparisons (operands on the stack).
export const i32Add: Code = [0x6a];
export const i32Sub: Code = [0x6b];
export const i32Mul: Code = [0x6c];
export const i32Shl: Code = [0x74];
export const i32And: Code = [0x71];
export const i32Or: Code = [0x72];
export const i32ShrU: Code = [0x76];
export const i32Eqz: Code = [0x45];
export const i32Eq: Code = [0x46];
export const i32Ne: Code = [0x47];
export const i32LtS: Code = [0x48];
export const i32LtU: Code = [0x49];
export const i32GtS: Code = [0x4a];
export const i32GeS: Code = [0x4e];
export const i32LeS: Code = [0x4c];
export const select: Code = [0x1b];
export const drop: Code = [0x1a];

// f32 scalar.
export const f32Add: Code = [0x92];
export const f32Sub: Code = [0x93];
export const f32Mul: Code = [0x94];
export const f32Neg: Code = [0x8c];
export const f32Div: Code = [0x95];
export const f32Gt: Code = [0x5e];
export const f32ConvertI32S: Code = [0xb2];
export const f32ReinterpretI32: Code = [0xbe];
export const i32ReinterpretF32: Code = [0xbc];
/** Loads of one byte (unsigned / signed) and of a little-endian u16, as i32. */
export const i32Load8U = (offset = 0): Code => [0x2d, 0, ...uleb(offset)];
export const i32Load8S = (offset = 0): Code => [0x2c, 0, ...uleb(offset)];
export const i32Load16U = (offset = 0): Code => [0x2f, 1, ...uleb(offset)];
export const f32Load = (offset = 0): Code => [0x2a, 2, ...uleb(offset)];
export const f32Store = (offset = 0): Code => [0x38, 2, ...uleb(offset)];
export const i32Store = (offset = 0): Code => [0x36, 2, ...uleb(offset)];
export const i32Load = (offset = 0): Code => [0x28, 2, ...uleb(offset)];

// 128-bit SIMD (prefix 0xfd).
const simd = (op: number, ...imm: number[]): Code => [0xfd, ...uleb(op), ...imm];
export const v128Load = (offset = 0): Code => simd(0x00, 4, ...uleb(offset));
export const v128Load64Zero = (offset = 0): Code => simd(0x5d, 3, ...uleb(offset));
/** Loads 32 bits into lane 0, zeroing the others. */
export const v128Load32Zero = (offset = 0): Code => simd(0x5c, 2, ...uleb(offset));
/** Loads 8 signed bytes, each sign-extended to an i16 lane. */
export const v128Load8x8S = (offset = 0): Code => simd(0x01, 3, ...uleb(offset));
/** Replaces i16 lane `lane` of the vector on the stack with 16 bits from memory. Stack: address, v128. */
export const v128Load16Lane = (offset: number, lane: number): Code => simd(0x55, 1, ...uleb(offset), lane);
export const v128Load32Splat = (offset = 0): Code => simd(0x09, 2, ...uleb(offset));
export const v128Store = (offset = 0): Code => simd(0x0b, 4, ...uleb(offset));
export const v128Store64Lane = (offset: number, lane: number): Code => simd(0x5b, 3, ...uleb(offset), lane);
export const f32x4Splat: Code = simd(0x13);
export const i8x16Splat: Code = simd(0x0f);
export const f32x4ExtractLane = (lane: number): Code => simd(0x1f, lane);
export const i32x4ExtractLane = (lane: number): Code => simd(0x1b, lane);
/** Picks 16 bytes from the concatenation of two vectors (indices 0–31). */
export const i8x16Shuffle = (lanes: readonly number[]): Code => {
  if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new RangeError('i8x16.shuffle takes 16 lane indices below 32');
  return simd(0x0d, ...lanes);
};
/** i8x16.shuffle picking 32-bit lanes (0–3 of the first vector, 4–7 of the second). */
export const shuffle32 = (lanes: readonly [number, number, number, number]): Code => i8x16Shuffle(lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
export const i32x4Splat: Code = simd(0x11);
export const i8x16Abs: Code = simd(0x60);
/** Lane-wise a < b (signed) as all-ones / zero bytes. */
export const i8x16LtS: Code = simd(0x25);
/** Signed saturating subtraction. */
export const i8x16SubSatS: Code = simd(0x72);
export const v128Xor: Code = simd(0x51);
export const v128And: Code = simd(0x4e);
export const v128Or: Code = simd(0x50);
/** i8x16 shifts: stack v128, i32 shift count. */
export const i8x16Shl: Code = simd(0x6b);
export const i8x16ShrU: Code = simd(0x6d);
export const i8x16Sub: Code = simd(0x71);
/** Saturating narrowings: two i16x8 to i8x16, two i32x4 to i16x8 (signed). */
export const i8x16NarrowI16x8S: Code = simd(0x65);
export const i16x8NarrowI32x4S: Code = simd(0x85);
export const i16x8Add: Code = simd(0x8e);
/** Sums adjacent pairs of i16 lanes into i32 lanes (signed). */
export const i32x4ExtaddPairwiseI16x8S: Code = simd(0x7e);
export const i32x4ShrS: Code = simd(0xac);
export const i32x4Add: Code = simd(0xae);
/** Multiplies i16 lanes pairwise and adds adjacent products into i32 lanes. */
export const i32x4DotI16x8S: Code = simd(0xba);
export const i32x4TruncSatF32x4S: Code = simd(0xf8);
export const f32x4Abs: Code = simd(0xe0);
/** Pseudo-maximum `a < b ? b : a` (one instruction on x64). */
export const f32x4Pmax: Code = simd(0xeb);
/** Round to nearest, ties to even. */
export const f32x4Nearest: Code = simd(0x6a);
/** Sign-extend the low / high eight i8 lanes to i16, and the low / high four i16 lanes to i32. */
export const i16x8ExtendLowI8x16S: Code = simd(0x87);
export const i16x8ExtendHighI8x16S: Code = simd(0x88);
export const i32x4ExtendLowI16x8S: Code = simd(0xa7);
export const i32x4ExtendHighI16x8S: Code = simd(0xa8);
export const f32x4ConvertI32x4S: Code = simd(0xfa);
export const f32x4Add: Code = simd(0xe4);
export const f32x4Mul: Code = simd(0xe6);
/** Relaxed SIMD `a·b + c` (fused where the hardware has FMA). Stack: a, b, c. */
export const f32x4RelaxedMadd: Code = simd(0x105);
/**
 * Relaxed SIMD integer dot product: i8 lanes of a times lanes of b (in 0–127: values of b ≥ 128
 * are implementation-defined), adjacent four products summed into i32 lanes, plus c. Stack: a, b, c.
 */
export const i32x4RelaxedDotI8x16I7x16AddS: Code = simd(0x113);
export const v128Zero: Code = simd(0x0c, ...new Array<number>(16).fill(0));
/** A 16-byte constant (bytes 0–255, lane 0 first). */
export const v128Const = (bytes: readonly number[]): Code => {
  if (bytes.length !== 16 || bytes.some((b) => b < 0 || b > 255)) throw new RangeError('v128.const takes 16 bytes');
  return simd(0x0c, ...bytes);
};
/** Bits of the first vector where the third (mask) has ones, of the second elsewhere. Stack: a, b, mask. */
export const v128Bitselect: Code = simd(0x52);
export const i32x4Neg: Code = simd(0xa1);

// Control.
const EMPTY = 0x40;
export const block = (...body: readonly Code[]): Code => [0x02, EMPTY, ...body.flat(), 0x0b];
export const loop = (...body: readonly Code[]): Code => [0x03, EMPTY, ...body.flat(), 0x0b];
export const ifThen = (then: readonly Code[], otherwise?: readonly Code[]): Code =>
  otherwise ? [0x04, EMPTY, ...then.flat(), 0x05, ...otherwise.flat(), 0x0b] : [0x04, EMPTY, ...then.flat(), 0x0b];
export const br = (depth: number): Code => [0x0c, ...uleb(depth)];
export const brIf = (depth: number): Code => [0x0d, ...uleb(depth)];
export const ret: Code = [0x0f];

/**
 * Declares a function's parameters and locals by name, handing out their indices.
 *
 * @example
 * const f = new FunctionBuilder();
 * const x = f.param('x', I32);
 * const tmp = f.local('tmp', I32);
 */
export class FunctionBuilder {
  readonly params: ValType[] = [];
  readonly locals: ValType[] = [];
  private readonly names = new Map<string, number>();

  param(name: string, type: ValType): number {
    if (this.locals.length > 0) throw new Error('parameters must be declared before locals');
    return this.add(name, type, this.params);
  }

  local(name: string, type: ValType): number {
    return this.add(name, type, this.locals);
  }

  private add(name: string, type: ValType, list: ValType[]): number {
    if (this.names.has(name)) throw new Error(`duplicate wasm variable ${name}`);
    list.push(type);
    const index = this.params.length + this.locals.length - 1;
    this.names.set(name, index);
    return index;
  }
}

/** One exported function of a module. */
export interface WasmFunction {
  name: string;
  fn: FunctionBuilder;
  body: Code;
}

/**
 * A module importing one memory `env.memory` (shared when `shared`) and exporting `functions`.
 *
 * @example
 * const bytes = wasmModule({ minPages: 1, maxPages: 16, shared: true }, [{ name: 'f', fn, body }]);
 */
export function wasmModule(memory: { minPages: number; maxPages: number; shared: boolean }, functions: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: Code): number[] => [id, ...uleb(content.length), ...content];
  const types = functions.map((f) => [0x60, ...vec(f.fn.params.map((t) => [t])), 0x00]);
  const memType = [memory.shared ? 0x03 : 0x01, ...uleb(memory.minPages), ...uleb(memory.maxPages)];
  const imports = vec([[...utf8('env'), ...utf8('memory'), 0x02, ...memType]]);
  const funcs = vec(functions.map((_, i) => uleb(i)));
  const exports = vec(functions.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]));
  const bodies = functions.map((f) => {
    const locals = vec(f.fn.locals.map((t) => [1, t]));
    const code = [...locals, ...f.body, 0x0b];
    return [...uleb(code.length), ...code];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, vec(bodies)),
  ];
  return new Uint8Array(bytes);
}
