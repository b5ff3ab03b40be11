import { z } from 'zod';

/** One message of an OpenAI-style chat (browser-safe: the API's contract reads it). */
export const chatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(32_000),
  name: z.string().max(64).optional(),
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;
