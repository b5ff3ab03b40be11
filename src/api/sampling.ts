import { z } from 'zod';

/**
 * The limits on sampling every inference door checks, in one place: `POST /inference` (camelCase,
 * this API's style) and `/v1/*` (OpenAI's snake_case names) read them alike.
 */
export const SAMPLING_LIMITS = { maxTokens: 512, temperature: 2, seed: 2 ** 31 - 1, stopStrings: 4, stopChars: 100, promptChars: 32_000 } as const;

export const maxTokens = z.number().int().min(1).max(SAMPLING_LIMITS.maxTokens);
export const temperature = z.number().min(0).max(SAMPLING_LIMITS.temperature);
export const topP = z.number().gt(0).max(1);
export const seed = z.number().int().min(0).max(SAMPLING_LIMITS.seed);
/** One stop string or a list of them, as a list. */
export const stop = z
  .union([z.string().max(SAMPLING_LIMITS.stopChars), z.array(z.string().max(SAMPLING_LIMITS.stopChars)).max(SAMPLING_LIMITS.stopStrings)])
  .optional()
  .transform((s) => (s === undefined ? [] : typeof s === 'string' ? [s] : s));
export const model = z.string().min(1).max(64);
export const prompt = z.string().min(1).max(SAMPLING_LIMITS.promptChars);
