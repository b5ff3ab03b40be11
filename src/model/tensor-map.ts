/** A named host tensor: row-major f32 data with its shape. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Tensors by name (Hugging Face names for model weights, PEFT names for adapters). */
export type TensorMap = Map<string, HostTensor>;

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
