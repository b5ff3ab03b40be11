import type { Hex } from 'viem';
import type { Llama, LoraAdapter } from '../model/llama.ts';
import { combineScores, type CombineParameters } from './combine-scores.ts';
import { gradientScores, outputGradientSketch } from './gradient-influence.ts';
import type { ReceiptContribution } from './receipt-types.ts';
import type { Trace } from './trace.ts';

/** The span-index queries attribution needs (see span-index.ts). */
export interface SpanSource {
  /** Tokens in the indexed corpus. */
  readonly totalTokens: number;
  /**
   * OLMoTrace-style maximal spans of `tokens` that occur in the corpus, with their corpus counts;
   * spans made only of the corpus' `commonTokenCount` most frequent tokens are dropped.
   */
  maximalSpans(tokens: readonly number[], o: { minLength: number; commonTokenCount: number }): Promise<Array<{ start: number; end: number; count: number }>>;
  /** Indexed documents (trace example indexes) containing `span`: up to `limit` of them. */
  documentsContaining(span: readonly number[], limit: number): Promise<number[]>;
  /** Weight of a span by its length and rarity. */
  weight(length: number, count: number): number;
}

/** Everything a model's outputs are attributed with. */
export interface AttributionModel {
  model: Llama;
  /** Loaded trainable (with gradients), for the output's gradient. */
  lora: LoraAdapter;
  tokenizer: { pieceOffsets(ids: readonly number[]): Array<[number, number]> };
  trace: Trace;
  spans: SpanSource;
}

export interface AttributionParameters extends CombineParameters {
  /** Shortest span (tokens) that counts as evidence. */
  minSpanLength: number;
  /** Spans made only of the training data's this-many most frequent tokens are no evidence (template words, punctuation). */
  commonTokenCount: number;
}

/** A maximal span of the output found in the training data, in output characters and tokens. */
export interface AttributedSpan {
  tokens: [number, number];
  chars: [number, number];
  /** Occurrences in the training data. */
  count: number;
  weight: number;
  contributions: Hex[];
}

/** At most this many documents are credited for one span (a span found more often is common anyway). */
const MAX_DOCUMENTS_PER_SPAN = 64;

/**
 * Attributes an output to the contributions its model was trained on, by both signals:
 * span attribution (maximal verbatim spans of the output in the training tokens, each weighted by
 * length and rarity and split between the contributions containing it) and gradient influence
 * (similarity of the output's LoRA gradient with each training example's, TracIn). The two are
 * combined by the governance weight and threshold into integer shares (ppm).
 *
 * @example
 * const { contributions, spans } = await attribute(m, promptIds, outputIds, { spanWeightBps: 5000, thresholdPpm: 10000, minSpanLength: 4, commonTokenCount: 50 });
 */
export async function attribute(m: AttributionModel, prompt: readonly number[], output: readonly number[], p: AttributionParameters): Promise<{ contributions: ReceiptContribution[]; spans: AttributedSpan[]; signals: { span: Map<Hex, number>; gradient: Map<Hex, number> } }> {
  const examples = m.trace.examples;
  const offsets = m.tokenizer.pieceOffsets(output);
  const spanScores = new Map<Hex, number>();
  const charRanges = new Map<Hex, Array<[number, number]>>();
  const spans: AttributedSpan[] = [];
  for (const s of await m.spans.maximalSpans(output, { minLength: p.minSpanLength, commonTokenCount: p.commonTokenCount })) {
    const docs = await m.spans.documentsContaining(output.slice(s.start, s.end), MAX_DOCUMENTS_PER_SPAN);
    const contributions = [...new Set(docs.map((d) => examples[d]!.contributionId))].sort();
    if (contributions.length === 0) continue;
    const weight = m.spans.weight(s.end - s.start, s.count);
    const chars: [number, number] = [offsets[s.start]![0], offsets[s.end - 1]![1]];
    for (const c of contributions) {
      spanScores.set(c, (spanScores.get(c) ?? 0) + weight / contributions.length);
      charRanges.set(c, [...(charRanges.get(c) ?? []), chars]);
    }
    spans.push({ tokens: [s.start, s.end], chars, count: s.count, weight, contributions });
  }
  const gradient = output.length > 0 ? gradientScores(m.trace, await outputGradientSketch(m.model, m.lora, m.trace, prompt, output)) : new Map<Hex, number>();
  const datanetOf = new Map(examples.map((e) => [e.contributionId, e.datanetId]));
  const contributions = combineScores(spanScores, gradient, p).map((s) => ({
    contributionId: s.contributionId,
    datanetId: datanetOf.get(s.contributionId)!,
    sharePpm: s.sharePpm,
    span: s.span,
    gradient: s.gradient,
    spans: charRanges.get(s.contributionId) ?? [],
  }));
  return { contributions, spans, signals: { span: spanScores, gradient } };
}
