/** A span weight asked for with impossible figures. */
export class SpanWeightError extends Error {
  override name = 'SpanWeightError';
}

/**
 * The weight of a matched span by its length and rarity:
 *
 *     weight = length × ln(1 + totalTokens / count)
 *
 * `length` is the span's tokens, `count` its occurrences in the indexed corpus, `totalTokens`
 * the corpus' size. ln(totalTokens / count) is the span's information content under the
 * corpus' own frequency of it (a span found once in 100M tokens: 18.4 nats; found 10,000 times:
 * 9.2), so a long, rare match outweighs a short, common one; the 1 + keeps every weight
 * positive (a span as frequent as the corpus is large still weighs ln 2 per token).
 *
 * @example
 * spanWeight(12, 1, 100_000_000); // ≈ 221: an unusual 12-token match
 * spanWeight(4, 10_000, 100_000_000); // ≈ 36.8: a common 4-token one
 */
export function spanWeight(length: number, count: number, totalTokens: number): number {
  if (!Number.isInteger(length) || length < 1) throw new SpanWeightError(`span length must be a positive integer, got ${length}`);
  if (!Number.isInteger(count) || count < 1) throw new SpanWeightError(`span count must be a positive integer, got ${count}`);
  if (!Number.isInteger(totalTokens) || totalTokens < count) {
    throw new SpanWeightError(`corpus size must be an integer ≥ the span's count (${count}), got ${totalTokens}`);
  }
  return length * Math.log1p(totalTokens / count);
}
