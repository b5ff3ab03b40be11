import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { Llama, LoraAdapter } from '../model/llama.ts';
import { createBlockedSketch, type BlockedSketch } from '../model/gradient-sketch.ts';
import type { Tokenizer } from '../model/tokenizer.ts';
import { asBuffer } from '../util/as-buffer.ts';
import { groupContributions, type ContributionGroups } from './contribution-groups.ts';
import { blockDamping, fisherPrecondition, selfNormalised, type InfluenceBlock, type InfluenceMethod } from './influence.ts';
import { buildLexicalIndex, type LexicalIndex } from './lexical-index.ts';
import type { SpanIndex } from './span-index.ts';
import type { Trace } from './trace.ts';
import { openTraceSpans } from './trace-spans.ts';
import { wordWeights } from './words.ts';

/** How a model's influence features were derived from its trace's gradients. */
export interface InfluenceFeatures {
  method: InfluenceMethod;
  damping: number;
  /** Rows (one per trace example) an output's projected gradient is scored against. */
  rows: Float32Array;
  dimension: number;
  blocks: InfluenceBlock[];
  /** λ per block (datainf). */
  lambdas: Float64Array;
  /** The projection an output's gradient takes (the trace's). */
  sketch: BlockedSketch;
}

/** Everything a model's outputs are attributed with; the derived parts are computed once and cached. */
export interface AttributionModel {
  model: Llama;
  /** Loaded trainable (with gradients), for the output's gradient. */
  lora: LoraAdapter;
  tokenizer: Tokenizer;
  trace: Trace;
  spans: SpanIndex;
  /** Each trace example's words (lower-case) with their weight: the base model's surprisal of their tokens (nats); empty for held-out examples. */
  documents: Array<Map<string, number>>;
  /** Contribution groups at a similarity threshold, and BM25 over the training documents with word frequencies counted per group (memoised). */
  corpus(groupThreshold: number): { groups: ContributionGroups; lexical: LexicalIndex };
  /** Influence features for a method and damping (memoised; cached on disk). */
  influence(method: InfluenceMethod, damping: number): Promise<InfluenceFeatures>;
}

/**
 * The base model's surprisal of every trace token: −log p(token | the tokens before it in its
 * example), 0 for each example's first token. One forward pass per example; cached in `cacheDir`.
 */
async function traceSurprisal(model: Llama, trace: Trace, cacheDir: string): Promise<Float32Array> {
  const path = join(cacheDir, 'surprisal.f32');
  const cached = await readFile(path).catch(() => null);
  if (cached && cached.byteLength === trace.tokens.length * 4) return new Float32Array(cached.buffer.slice(cached.byteOffset, cached.byteOffset + cached.byteLength));
  const out = new Float32Array(trace.tokens.length);
  for (const e of trace.examples) {
    if (e.heldOut) continue;
    const seq = trace.tokens.subarray(e.offset, e.offset + e.length);
    const r = await model.loss(seq.slice(0, -1), seq.slice(1), 1, e.length - 1, null);
    out.set(r.tokenLosses, e.offset + 1);
  }
  await writeFileAtomic(path, asBuffer(out)); // fsync'd and renamed: never a torn cache
  return out;
}

/**
 * A training document's text (its tokens decoded, special tokens left out) and its words weighted
 * by the base model's surprisal of their tokens.
 */
function documentWords(tokenizer: Tokenizer, ids: readonly number[], surprisal: ArrayLike<number>): { text: string; words: Map<string, number> } {
  const text = tokenizer.decode(ids, { skipSpecialTokens: true });
  const words = new Map<string, number>();
  for (const w of wordWeights(text, tokenizer.pieceOffsets(ids, { skipSpecialTokens: true }), surprisal)) words.set(w.word, Math.max(words.get(w.word) ?? 0, w.weight));
  return { text, words };
}

/**
 * Prepares a fine-tuned model for attribution: its trace's span index (built into `cacheDir` on
 * first use), the base model's surprisal of every training token (cached there too), each
 * training document's weighted words, the BM25 index, and — on demand, memoised — contribution
 * groups and influence features.
 *
 * @example
 * const m = await prepareAttributionModel({ model, lora, tokenizer, trace, cacheDir: join(dir, 'derived') });
 * const { contributions } = await attribute(m, promptIds, outputIds, parameters);
 */
export async function prepareAttributionModel(o: { model: Llama; lora: LoraAdapter; tokenizer: Tokenizer; trace: Trace; cacheDir: string }): Promise<AttributionModel> {
  const { model, trace, tokenizer, cacheDir } = o;
  await mkdir(cacheDir, { recursive: true });
  const sketch = traceSketch(model, o.lora, trace);
  const spans = await openTraceSpans(join(cacheDir, 'index'), trace, model.config.vocabSize);
  const surprisal = await traceSurprisal(model, trace, cacheDir);
  const texts: Array<string | null> = [];
  const documents = trace.examples.map((e) => {
    if (e.heldOut) {
      texts.push(null);
      return new Map<string, number>();
    }
    const d = documentWords(tokenizer, [...trace.tokens.subarray(e.offset, e.offset + e.length)], surprisal.subarray(e.offset, e.offset + e.length));
    texts.push(d.text);
    return d.words;
  });
  const corpusCache = new Map<number, { groups: ContributionGroups; lexical: LexicalIndex }>();
  const influenceCache = new Map<string, Promise<InfluenceFeatures>>();
  const info = trace.gradientInfo;
  const n = trace.examples.length, D = info.dimension;
  let offset = 0;
  const blocks = info.blockDimensions.map((dimension) => ({ offset: (offset += dimension) - dimension, dimension }));

  return {
    model, lora: o.lora, tokenizer, trace, spans, documents,
    corpus(threshold) {
      let c = corpusCache.get(threshold);
      if (!c) {
        const examples = trace.examples;
        const groups = groupContributions(documents, (a, b) => examples[a]!.order - examples[b]!.order || (examples[a]!.contributionId < examples[b]!.contributionId ? -1 : 1), { threshold });
        c = { groups, lexical: buildLexicalIndex(texts, (d) => groups.representative[d]!) };
        remember(corpusCache, threshold, c);
      }
      return c;
    },
    influence(method, damping) {
      const key = `${method}-${damping}`;
      let f = influenceCache.get(key);
      if (!f) {
        f = (async () => {
          const lambdas = blockDamping(trace.gradients, n, D, blocks, damping);
          let rows = trace.gradients;
          if (method === 'fisher' || method === 'relatif') {
            const path = join(cacheDir, `influence-${key}.f32`);
            const cached = await readFile(path).catch(() => null);
            if (cached && cached.byteLength === n * D * 4) rows = new Float32Array(cached.buffer.slice(cached.byteOffset, cached.byteOffset + cached.byteLength));
            else {
              rows = fisherPrecondition(trace.gradients, n, D, blocks, damping);
              if (method === 'relatif') rows = selfNormalised(trace.gradients, rows, n, D);
              await writeFileAtomic(path, asBuffer(rows));
            }
          }
          return { method, damping, rows, dimension: D, blocks, lambdas, sketch };
        })();
        f.catch(() => influenceCache.delete(key));
        remember(influenceCache, key, f);
      }
      return f;
    },
  };
}

/** Variants (of the group threshold, of the influence method and damping) kept in memory per model: receipts name their own, and a verifier fed many must not grow without bound. */
const VARIANTS_KEPT = 8;

function remember<K, V>(cache: Map<K, V>, key: K, value: V): void {
  cache.set(key, value);
  while (cache.size > VARIANTS_KEPT) cache.delete(cache.keys().next().value as K);
}

/** The trace was recorded with a different adapter layout than the one given. */
export class SketchMismatchError extends Error {
  override name = 'SketchMismatchError';
}

/** The projection the trace's gradients were taken with, over the adapter's tensors (which must be the trace's). */
function traceSketch(model: Llama, lora: LoraAdapter, trace: Trace): BlockedSketch {
  const params = model.loraParameters(lora);
  const info = trace.gradientInfo;
  if (params.map((p) => p.name).join() !== info.parameterNames.join()) throw new SketchMismatchError('the adapter’s tensors are not those the trace was sketched over');
  const sketch = createBlockedSketch(params.map((p) => p.value.length), info.parameterBlocks, info.blockDimensions, info.seed);
  if (sketch.blocks.reduce((n, b) => n + b.inputLength, 0) !== info.inputLength) throw new SketchMismatchError(`the adapter has ${sketch.blocks.reduce((n, b) => n + b.inputLength, 0)} gradient coordinates, the trace ${info.inputLength}`);
  return sketch;
}
