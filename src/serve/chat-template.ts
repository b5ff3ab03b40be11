import { Template } from '@huggingface/jinja';
import { CodedError } from '../util/coded-error.ts';

import type { ChatMessage } from './chat-message.ts';
export { chatMessageSchema, type ChatMessage } from './chat-message.ts';

/** A chat that cannot be turned into a prompt (a broken template, no user message). */
export class ChatTemplateError extends CodedError {
  override name = 'ChatTemplateError';
}

/**
 * The prompt text of a chat. A model whose `tokenizer_config.json` has a `chat_template` gets it
 * rendered (Jinja, as transformers does, with the generation prompt added); otherwise the
 * question/answer layout ModelFactory trains with: each user turn `### Question: …\n### Answer:`,
 * each assistant turn ` …\n`, system turns first as plain lines.
 *
 * @example
 * chatPrompt(undefined, [{ role: 'user', content: 'What is the capital of Zorvania?' }]);
 * // '### Question: What is the capital of Zorvania?\n### Answer:'
 */
export function chatPrompt(tokenizerConfig: { chat_template?: unknown; bos_token?: unknown; eos_token?: unknown } | undefined, messages: readonly ChatMessage[]): string {
  if (!messages.some((m) => m.role === 'user')) throw new ChatTemplateError('bad_request', 'messages: a chat needs at least one user message');
  const template = tokenizerConfig?.chat_template;
  if (typeof template === 'string' && template.length > 0) {
    const token = (t: unknown) => (typeof t === 'string' ? t : t && typeof t === 'object' && 'content' in t ? String((t as { content: unknown }).content) : '');
    try {
      return new Template(template).render({ messages, add_generation_prompt: true, bos_token: token(tokenizerConfig?.bos_token), eos_token: token(tokenizerConfig?.eos_token) });
    } catch (err) {
      throw new ChatTemplateError('bad_chat_template', `the model's chat template failed: ${(err as Error).message}`);
    }
  }
  let prompt = '';
  for (const m of messages) {
    if (m.role === 'system') prompt += `${m.content}\n`;
    else if (m.role === 'user') prompt += `### Question: ${m.content}\n### Answer:`;
    else prompt += ` ${m.content}\n`;
  }
  return messages.at(-1)!.role === 'assistant' ? `${prompt}### Answer:` : prompt;
}
