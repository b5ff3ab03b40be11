import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { traceFiles, traceFilesV1, TraceFormatError, type GradientInfo, type TraceExample } from '../factory/training-trace.ts';

/** A model's training trace, as attribution reads it (see factory/training-trace.ts). */
export interface Trace {
  /** 2, or 1 for the first format (one sketch block, unit-length gradients summed over three checkpoints). */
  version: 1 | 2;
  examples: Array<TraceExample & { order: number }>;
  /** Every example's token sequence, back to back. */
  tokens: Int32Array;
  gradientInfo: GradientInfo;
  /** One row of `gradientInfo.dimension` per example (zero for held-out examples). */
  gradients: Float32Array;
}

/**
 * Reads a trace folder written by ModelFactory (tokens, examples, projected gradients, manifest),
 * either version. Version 1 examples carry no arrival order: they arrive in contribution-id order.
 *
 * @example
 * const trace = await readTrace(join(jobDir, 'output'));
 */
export async function readTrace(dir: string): Promise<Trace> {
  const read = (name: string) => readFile(join(dir, name)).catch(() => {
    throw new TraceFormatError(`${join(dir, name)} is missing`);
  });
  const manifest = JSON.parse((await read(traceFiles.manifest)).toString()) as
    | { version: 1; sketch: Omit<GradientInfo, 'parameterBlocks' | 'blockDimensions'> }
    | { version: 2; gradients: GradientInfo };
  if (manifest.version !== 1 && manifest.version !== 2) throw new TraceFormatError(`trace version ${String((manifest as { version: unknown }).version)} is not supported`);
  const { examples } = JSON.parse((await read(traceFiles.examples)).toString()) as { examples: TraceExample[] };
  const t = await read(traceFiles.tokens);
  const g = await read(manifest.version === 2 ? traceFiles.gradients : traceFilesV1.sketches);
  const tokens = new Int32Array(t.buffer.slice(t.byteOffset, t.byteOffset + t.byteLength));
  const gradients = new Float32Array(g.buffer.slice(g.byteOffset, g.byteOffset + g.byteLength));
  const gradientInfo: GradientInfo = manifest.version === 2
    ? manifest.gradients
    : { ...manifest.sketch, parameterBlocks: manifest.sketch.parameterNames.map(() => 0), blockDimensions: [manifest.sketch.dimension] };
  if (gradientInfo.blockDimensions.reduce((a, b) => a + b, 0) !== gradientInfo.dimension) throw new TraceFormatError('trace.json: the block dimensions do not sum to the dimension');
  if (gradients.length !== examples.length * gradientInfo.dimension) throw new TraceFormatError('the gradients do not match examples × dimension');
  for (const [i, e] of examples.entries()) {
    if (!(e.offset >= 0 && e.length >= 2 && e.offset + e.length <= tokens.length)) throw new TraceFormatError(`example ${i} lies outside tokens.i32`);
  }
  // version 1: no arrival order recorded; contribution-id order stands in (deterministic for everyone)
  const byId = examples.map((e, i) => [e.contributionId, i] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
  const fallback = new Array<number>(examples.length);
  byId.forEach(([, i], rank) => (fallback[i] = rank));
  return { version: manifest.version, examples: examples.map((e, i) => ({ ...e, order: e.order ?? fallback[i]! })), tokens, gradientInfo, gradients };
}
