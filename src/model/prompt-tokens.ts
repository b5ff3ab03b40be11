/** What turns text into token ids (a {@link Tokenizer} or anything shaped like one). */
export interface TokenEncoder {
  bosId?: number | undefined;
  eosId?: number | undefined;
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
}

/**
 * The token ids a model sees for a prompt: `[bos]` (when the tokenizer has one) followed by the
 * text's tokens. One definition for training, every serving engine and attribution.
 *
 * @example
 * promptTokens(tokenizer, '### Question: Hi?\n### Answer:'); // [0, 1234, …]
 */
export function promptTokens(tokenizer: TokenEncoder, text: string): number[] {
  return [...(tokenizer.bosId !== undefined ? [tokenizer.bosId] : []), ...tokenizer.encode(text, { addSpecialTokens: false })];
}
