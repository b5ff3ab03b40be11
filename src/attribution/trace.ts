import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { traceFiles, TraceFormatError, type SketchInfo, type TraceExample } from '../factory/training-trace.ts';

/** A model's training trace, as attribution reads it (see factory/training-trace.ts). */
export interface Trace {
  examples: TraceExample[];
  /** Every example's token sequence, back to back. */
  tokens: Int32Array;
  sketch: SketchInfo;
  /** One row of `sketch.dimension` per example. */
  sketches: Float32Array;
}

/**
 * Reads a trace folder written by ModelFactory (tokens, examples, gradient sketches, manifest).
 *
 * @example
 * const trace = await readTrace(join(jobDir, 'output'));
 */
export async function readTrace(dir: string): Promise<Trace> {
  const read = (name: string) => readFile(join(dir, name)).catch(() => {
    throw new TraceFormatError(`${join(dir, name)} is missing`);
  });
  const manifest = JSON.parse((await read(traceFiles.manifest)).toString()) as { version: number; sketch: SketchInfo };
  if (manifest.version !== 1) throw new TraceFormatError(`trace version ${manifest.version} is not supported`);
  const { examples } = JSON.parse((await read(traceFiles.examples)).toString()) as { examples: TraceExample[] };
  const t = await read(traceFiles.tokens), s = await read(traceFiles.sketches);
  const tokens = new Int32Array(t.buffer.slice(t.byteOffset, t.byteOffset + t.byteLength));
  const sketches = new Float32Array(s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength));
  if (sketches.length !== examples.length * manifest.sketch.dimension) throw new TraceFormatError('sketches.f32 does not match examples × dimension');
  return { examples, tokens, sketch: manifest.sketch, sketches };
}
