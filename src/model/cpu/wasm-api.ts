/**
 * The few WebAssembly JS API types the matmul code uses. The project compiles against ES2023 +
 * @types/node, which declare no `WebAssembly` global (TypeScript has it only in its DOM libs), so
 * this file types the global itself instead of declaring it, which could clash with a DOM lib later.
 */

/** A WebAssembly.Memory (shared, so `buffer` is a SharedArrayBuffer). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

/** A compiled WebAssembly.Module (opaque; it can be posted to workers). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array<ArrayBuffer>) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
  validate(bytes: Uint8Array<ArrayBuffer>): boolean;
}

/**
 * The runtime's WebAssembly API, or undefined where there is none.
 *
 * @example
 * if (wasmApi?.validate(bytes)) new wasmApi.Module(bytes);
 */
export const wasmApi: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
