/**
 * A Buffer view (no copy) of a typed array's bytes, for APIs typed to take Buffers.
 *
 * @example
 * await writeFileAtomic(path, asBuffer(new Int32Array([1, 2, 3])));
 */
export function asBuffer(view: ArrayBufferView): Buffer {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
