/**
 * The training trace: what a fine-tuning job leaves behind for Proof of Attribution (version 2).
 *
 * - `tokens.i32`: every example's full token sequence (`[bos] prompt response [eos]`), back to
 *   back, little-endian int32: the corpus the span index is built over.
 * - `examples.json`: for each example its contribution id, datanet, offset and length in
 *   `tokens.i32`, prompt length, arrival order among the job's contributions, and whether it was
 *   held out of training.
 * - `gradients.f32` (after training): one row of `dimension` float32 per example, the blocked
 *   CountSketch (seed, blocks and parameter order in `trace.json`) of its mean-loss LoRA gradient
 *   at the final weights, one block per transformer layer. Held-out rows are zero.
 *
 * The attribution module reads these files (and derives what it needs from them: the influence
 * preconditioner, the base model's surprisal of every token); the factory only writes them.
 * Version 1 traces (`sketches.f32`: unit-length sketches summed over three checkpoints, one
 * block) are still read.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hex } from 'viem';
import writeFileAtomic from 'write-file-atomic';
import type { TrainingExample } from '../model/trainer.ts';
import { asBuffer } from '../util/as-buffer.ts';
import type { TrainingData } from './training-data.ts';

export interface TraceExample {
  contributionId: Hex;
  datanetId: number;
  /** Position of the sequence's first token in tokens.i32. */
  offset: number;
  /** Tokens in the sequence (inputs + 1). */
  length: number;
  promptTokens: number;
  /** Arrival rank among the job's contributions (0 first; version 2). */
  order?: number;
  heldOut: boolean;
}

export interface TrainingSet {
  examples: Array<TrainingExample & TraceExample & { index: number }>;
  tokens: Int32Array;
}

/** How the gradients were projected: a blocked CountSketch (src/model/gradient-sketch.ts `createBlockedSketch`). */
export interface GradientInfo {
  dimension: number;
  seed: number;
  /** Number of LoRA gradient coordinates projected. */
  inputLength: number;
  /** The adapter tensors, in the order their gradients are given to the sketch. */
  parameterNames: string[];
  /** Each tensor's block (its transformer layer's). */
  parameterBlocks: number[];
  /** Each block's dimensions, in order; they sum to `dimension`. */
  blockDimensions: number[];
}

export const traceFiles = { tokens: 'tokens.i32', examples: 'examples.json', gradients: 'gradients.f32', manifest: 'trace.json' } as const;
/** The gradient file of version 1 traces. */
export const traceFilesV1 = { sketches: 'sketches.f32' } as const;

/** A trace file that is missing or does not match its manifest. */
export class TraceFormatError extends Error {
  override name = 'TraceFormatError';
}

/**
 * Writes a job's tokenised training set (training and held-out examples) to `dir`.
 *
 * @example
 * await writeTrainingSet(jobDir, await buildTrainingData(db, tokenizer, snapshots, template, options));
 */
export async function writeTrainingSet(dir: string, data: TrainingData): Promise<void> {
  const items = [...data.train.map((e) => ({ e, heldOut: false })), ...data.heldOut.map((e) => ({ e, heldOut: true }))];
  const total = items.reduce((n, { e }) => n + e.ids.length + 1, 0);
  const tokens = new Int32Array(total);
  const examples: TraceExample[] = [];
  let offset = 0;
  for (const { e, heldOut } of items) {
    tokens.set(e.ids, offset);
    tokens[offset + e.ids.length] = e.targets[e.targets.length - 1]!;
    examples.push({ contributionId: e.contributionId, datanetId: e.datanetId, offset, length: e.ids.length + 1, promptTokens: e.promptTokens, order: e.order, heldOut });
    offset += e.ids.length + 1;
  }
  await writeFileAtomic(join(dir, traceFiles.tokens), asBuffer(tokens));
  await writeFileAtomic(join(dir, traceFiles.examples), JSON.stringify({ version: 2, examples }));
}

/**
 * Reads a training set written by {@link writeTrainingSet}, rebuilding each example's inputs and
 * targets (prompt targets masked).
 *
 * @example
 * const { examples, tokens } = await readTrainingSet(jobDir);
 */
export async function readTrainingSet(dir: string): Promise<TrainingSet> {
  const raw = await readFile(join(dir, traceFiles.tokens)).catch(() => {
    throw new TraceFormatError(`${join(dir, traceFiles.tokens)} is missing`);
  });
  if (raw.byteLength % 4 !== 0) throw new TraceFormatError('tokens.i32 is not a whole number of int32');
  const tokens = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const { examples } = JSON.parse(await readFile(join(dir, traceFiles.examples), 'utf8')) as { examples: TraceExample[] };
  return {
    tokens,
    examples: examples.map((x, index) => {
      if (x.offset + x.length > tokens.length || x.length < 2) throw new TraceFormatError(`example ${index} lies outside tokens.i32`);
      const seq = tokens.subarray(x.offset, x.offset + x.length);
      const ids = seq.slice(0, -1);
      const targets = Int32Array.from(seq.subarray(1), (t, i) => (i + 1 < x.promptTokens ? -1 : t));
      return { ...x, index, ids, targets };
    }),
  };
}

/**
 * Writes the trace's final files to `dir`: tokens, examples, projected gradients and the manifest.
 *
 * @example
 * await writeTrace(outputDir, set, gradientInfo, gradients);
 */
export async function writeTrace(dir: string, set: TrainingSet, info: GradientInfo, gradients: Float32Array): Promise<void> {
  if (gradients.length !== set.examples.length * info.dimension) throw new TraceFormatError('gradients do not match the examples × dimension');
  await writeFileAtomic(join(dir, traceFiles.tokens), asBuffer(set.tokens));
  const examples: TraceExample[] = set.examples.map(({ contributionId, datanetId, offset, length, promptTokens, order, heldOut }) => ({ contributionId, datanetId, offset, length, promptTokens, order, heldOut }));
  await writeFileAtomic(join(dir, traceFiles.examples), JSON.stringify({ version: 2, examples }));
  await writeFileAtomic(join(dir, traceFiles.gradients), asBuffer(gradients));
  await writeFileAtomic(join(dir, traceFiles.manifest), JSON.stringify({ version: 2, gradients: info, files: traceFiles }, null, 2));
}
