import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { buildSpanIndex, openSpanIndex, type SpanIndex } from './span-index.ts';
import { MANIFEST_FILE } from './span-index-format.ts';
import type { Trace } from './trace.ts';

/** Shards up to this size are read into memory when opened (a fine-tuning trace usually is one small shard). */
const IN_MEMORY_SHARD_BYTES = 256 * 1024 * 1024;

/**
 * The span index over a training trace: one document per training example (held-out examples keep
 * their number but are not indexed, since the model never trained on them), built into `dir` on
 * first use and opened from there afterwards.
 *
 * @example
 * const spans = await openTraceSpans(join(cacheDir, traceBlob, 'index'), trace, config.vocabSize);
 */
export async function openTraceSpans(dir: string, trace: Trace, vocabSize: number): Promise<SpanIndex> {
  const built = await access(join(dir, MANIFEST_FILE)).then(() => true, () => false);
  if (!built) {
    await buildSpanIndex(dir, {
      tokens: trace.tokens,
      offsets: Int32Array.from(trace.examples, (e) => e.offset),
      vocabSize,
      excluded: trace.examples.map((e) => e.heldOut),
    }, { overwrite: true });
  }
  return openSpanIndex(dir, { loadShardsUpTo: IN_MEMORY_SHARD_BYTES });
}
