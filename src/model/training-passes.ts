/**
 * How one optimizer step's examples go through the model: in passes of several examples at once,
 * each pass right-padded to its longest example (padding targets −1: no loss, and causal attention
 * keeps the padding out of every real position). A pass of B examples makes every matrix product
 * B·S rows tall instead of S, which is where the kernels are efficient; the gradients are the same
 * sums as one example at a time, in another order of additions.
 *
 * The plan is data, decided before anything runs: examples longest first, a pass grows while it
 * stays within `passTokens` padded tokens and each example it takes is at least
 * 1 − {@link MAX_PADDING} of the pass's length (so padding wastes at most that share of a pass).
 * An example longer than `passTokens` goes alone, so memory is bounded by
 * max(passTokens, longest example) rows of activations.
 */

/** Padded tokens per pass by default: four 128-token sequences, or one of 512. */
export const PASS_TOKENS = 512;

/** The largest share of an example's padded length that may be padding. */
export const MAX_PADDING = 0.25;

/** One pass: the examples (indices into the step's batch) and the length they are padded to. */
export interface TrainingPass {
  examples: number[];
  length: number;
}

/**
 * Groups examples of the given lengths into passes.
 *
 * @example
 * planPasses([128, 128, 100, 300], 512); // [{ examples: [3], length: 300 }, { examples: [0, 1, 2], length: 128 }]
 */
export function planPasses(lengths: readonly number[], passTokens = PASS_TOKENS): TrainingPass[] {
  if (!Number.isInteger(passTokens) || passTokens < 1) throw new RangeError(`passTokens must be a positive integer, got ${passTokens}`);
  for (const [i, n] of lengths.entries()) if (!Number.isInteger(n) || n < 1) throw new RangeError(`example ${i}: length must be a positive integer, got ${n}`);
  const order = lengths.map((_, i) => i).sort((x, y) => lengths[y]! - lengths[x]! || x - y);
  const passes: TrainingPass[] = [];
  for (let next = 0; next < order.length;) {
    const length = lengths[order[next]!]!;
    const examples = [order[next++]!];
    while (next < order.length && (examples.length + 1) * length <= passTokens && lengths[order[next]!]! >= (1 - MAX_PADDING) * length) examples.push(order[next++]!);
    passes.push({ examples, length });
  }
  return passes;
}
