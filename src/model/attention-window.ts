/**
 * Which positions a query sees under sliding-window attention, in one place for every kernel and
 * reference. Semantics of Hugging Face transformers (`masking_utils.sliding_window_overlay`:
 * a key is visible when `kv_idx > q_idx - sliding_window`, on top of the causal `kv_idx <= q_idx`),
 * which Mistral, Gemma 2/3 and Qwen2 configs' `sliding_window` mean: a window of w covers w
 * positions, the query's own included — position s sees s−w+1 … s. A window of 1 is the token
 * alone; a window ≥ s + 1 is full causal attention.
 */

/** A window that is not a whole number ≥ 0. */
export class AttentionWindowError extends RangeError {
  override name = 'AttentionWindowError';
}

/**
 * The first position that query position `s` attends to: 0 without a window (`window` 0),
 * else max(0, s − window + 1).
 *
 * @example
 * firstVisiblePosition(10, 0); // 0: full causal
 * firstVisiblePosition(10, 4); // 7: positions 7, 8, 9, 10
 */
export function firstVisiblePosition(s: number, window: number): number {
  return window > 0 ? Math.max(0, s - window + 1) : 0;
}

/**
 * Throws {@link AttentionWindowError} unless `window` is a whole number ≥ 0 (0: no window).
 *
 * @example
 * checkWindow(4096);
 */
export function checkWindow(window: number): void {
  if (!Number.isInteger(window) || window < 0) throw new AttentionWindowError(`attention window ${window} is not a whole number ≥ 0`);
}
