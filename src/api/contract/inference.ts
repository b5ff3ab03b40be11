import { z } from 'zod';
import type { ApiKey } from '../../inference/api-keys.ts';
import type { attributionSummary as summarize } from '../../inference/attribution-summary.ts';
import { chatMessageSchema } from '../../serve/chat-message.ts';
import type { Json } from '../../util/json-shape.ts';
import { attributionSummary, fee } from './attribution.ts';
import { address, agree, hex, wei, type Agrees } from './common.ts';
import { defineRoute } from './route.ts';

// The inference doors: this API's own `POST /inference` and the OpenAI-compatible `/v1`, one
// pipeline behind both (inference/run-inference.ts), with one set of sampling limits.

agree<Agrees<typeof attributionSummary, Json<ReturnType<typeof summarize>>>>();

/** The limits on sampling every inference door checks: `POST /inference` (camelCase) and `/v1/*` (OpenAI's snake_case names) read them alike. */
export const SAMPLING_LIMITS = { maxTokens: 512, temperature: 2, seed: 2 ** 31 - 1, stopStrings: 4, stopChars: 100, promptChars: 32_000 } as const;

const maxTokens = z.number().int().min(1).max(SAMPLING_LIMITS.maxTokens);
const temperature = z.number().min(0).max(SAMPLING_LIMITS.temperature);
const topP = z.number().gt(0).max(1);
const seed = z.number().int().min(0).max(SAMPLING_LIMITS.seed);
/** One stop string or a list of them, read as a list. */
const stop = z
  .union([z.string().max(SAMPLING_LIMITS.stopChars), z.array(z.string().max(SAMPLING_LIMITS.stopChars)).max(SAMPLING_LIMITS.stopStrings)])
  .optional()
  .transform((s) => (s === undefined ? [] : typeof s === 'string' ? [s] : s));
const model = z.string().min(1).max(64);
const prompt = z.string().min(1).max(SAMPLING_LIMITS.promptChars);
const usage = z.object({ promptTokens: z.number().int(), completionTokens: z.number().int(), totalTokens: z.number().int() });

export const inferenceAnswer = z.object({
  model: z.string(),
  modelId: z.string().nullable(),
  output: z.string(),
  finishReason: z.enum(['stop', 'length', 'cancelled']),
  usage,
  /** null for a base model served alone: no receipt, no fee. */
  fee: fee.nullable(),
  receiptId: hex.nullable(),
  attribution: attributionSummary.nullable(),
});

export const infer = defineRoute({
  id: 'infer', method: 'POST', path: '/inference', tag: 'inference', auth: 'consumer',
  summary: 'Run a published model (or a base model alone) and get the answer with its fee, receipt and attribution',
  body: z.object({
    model, prompt,
    maxTokens: maxTokens.default(64), temperature: temperature.default(0), topP: topP.default(1), seed: seed.default(0), stop,
  }).strict(),
  response: inferenceAnswer,
});

// OpenAI's request fields: unknown ones are ignored (clients send more than any server uses); known ones are checked.
const sampling = {
  model,
  max_tokens: maxTokens.nullish(),
  temperature: temperature.nullish(),
  top_p: topP.nullish(),
  n: z.literal(1, { message: 'only n = 1 is supported' }).nullish(),
  seed: seed.nullish(),
  stop,
  stream: z.boolean().nullish(),
  // usage is always in the last chunk of a stream, asked for or not
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().max(256).optional(),
};
const openAiUsage = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() });
/** What OpenAI clients ignore and ours read: the receipt id, the fee and the top contributions (null for a base model alone). */
const openledgerExtra = z.object({ receipt_id: hex.nullable(), fee: fee.nullable(), attribution: attributionSummary.nullable() });
const finishReason = z.enum(['stop', 'length']);

export const openAiModels = defineRoute({
  id: 'openAiModels', method: 'GET', path: '/v1/models', tag: 'openai', auth: 'none', summary: 'Published and base models (OpenAI format)',
  response: z.object({
    object: z.literal('list'),
    data: z.array(z.object({
      id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string(),
      openledger: z.object({ modelId: z.string().nullable(), baseModel: hex, adapter: hex.nullable(), pricePer1kTokens: wei }),
    })),
  }),
});
export const openAiCompletions = defineRoute({
  id: 'openAiCompletions', method: 'POST', path: '/v1/completions', tag: 'openai', auth: 'consumer', produces: 'text/event-stream',
  summary: 'OpenAI completions (JSON, or server-sent events with `stream: true`)',
  body: z.object({ ...sampling, prompt: z.union([prompt, z.array(prompt).length(1, 'one prompt per request')]) }),
  response: z.object({
    id: z.string(), object: z.literal('text_completion'), created: z.number().int(), model: z.string(),
    choices: z.array(z.object({ index: z.number().int(), text: z.string(), finish_reason: finishReason, logprobs: z.null() })),
    usage: openAiUsage, openledger: openledgerExtra,
  }),
});
export const openAiChatCompletions = defineRoute({
  id: 'openAiChatCompletions', method: 'POST', path: '/v1/chat/completions', tag: 'openai', auth: 'consumer', produces: 'text/event-stream',
  summary: 'OpenAI chat completions (JSON, or server-sent events with `stream: true`)',
  body: z.object({ ...sampling, max_completion_tokens: maxTokens.nullish(), messages: z.array(chatMessageSchema).min(1).max(256) }),
  response: z.object({
    id: z.string(), object: z.literal('chat.completion'), created: z.number().int(), model: z.string(),
    choices: z.array(z.object({ index: z.number().int(), message: z.object({ role: z.literal('assistant'), content: z.string(), refusal: z.null() }), finish_reason: finishReason, logprobs: z.null() })),
    usage: openAiUsage, openledger: openledgerExtra,
  }),
});

/** An API key as listed (the key itself is shown once, when created). */
export const apiKey = z.object({ id: z.string(), account: address, name: z.string(), createdAt: z.string(), lastUsedAt: z.string().nullable(), revokedAt: z.string().nullable() });
agree<Agrees<typeof apiKey, ApiKey>>();

export const createApiKey = defineRoute({
  id: 'createApiKey', method: 'POST', path: '/api-keys', tag: 'inference', auth: 'signed', status: 201,
  summary: 'Create an API key bound to the signing account (the key is answered once)',
  body: z.object({ name: z.string().max(100).default('') }).strict().optional(), response: z.object({ key: z.string(), apiKey }),
});
export const listApiKeys = defineRoute({ id: 'listApiKeys', method: 'GET', path: '/api-keys', tag: 'inference', auth: 'signed', summary: "The signer's API keys", response: z.object({ apiKeys: z.array(apiKey) }) });
export const revokeApiKey = defineRoute({ id: 'revokeApiKey', method: 'DELETE', path: '/api-keys/:id', tag: 'inference', auth: 'signed', summary: 'Revoke one of the signer\'s API keys', params: z.object({ id: z.string().max(100) }), response: apiKey });
