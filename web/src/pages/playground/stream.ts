import { ApiError, send, routes } from '../../api.ts';
import type { Signer } from '../../account.tsx';
import type { AnswerAttribution, Turn } from './types.ts';

type ErrorBody = { error?: { message?: string; type?: string; code?: string | null } | string; message?: string };

const errorFrom = (status: number, j: ErrorBody, fallback: string): ApiError => {
  const e = typeof j.error === 'object' ? j.error : undefined;
  return new ApiError(status, e?.code ?? e?.type ?? String(status), e?.message ?? j.message ?? (typeof j.error === 'string' ? j.error : fallback));
};

/** Splits a server-sent-event buffer into complete events' `data:` payloads and what is left over. */
export function takeEvents(buffer: string): { data: string[]; rest: string } {
  const parts = buffer.replaceAll('\r\n', '\n').split('\n\n');
  const rest = parts.pop() ?? '';
  const data = parts
    .map((event) => event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n'))
    .filter((d) => d !== '');
  return { data, rest };
}

/**
 * Asks `model` to answer `messages` with `POST /v1/chat/completions` (`stream: true`), signed by the
 * connected account; calls `onText` with the answer so far as chunks arrive and resolves with the
 * whole answer and its `openledger` attribution (receipt id, fee, contributions with spans) once the
 * stream says `[DONE]`. A refusal (402 when the account cannot pay, 401, 400…) rejects with an
 * {@link ApiError} carrying the node's message.
 */
export async function streamChat(o: {
  model: string; messages: Array<{ role: 'user' | 'assistant'; content: string }>; temperature: number; maxTokens: number;
  signer: Signer; signal?: AbortSignal; onText: (text: string) => void;
}): Promise<Turn> {
  const res = await send(routes.openAiChatCompletions, {
    body: { model: o.model, messages: o.messages, temperature: o.temperature, max_tokens: o.maxTokens, stream: true },
  }, { signer: o.signer, ...(o.signal ? { signal: o.signal } : {}) });
  if (!res.ok) {
    const text = await res.text();
    let j: ErrorBody = {};
    try { j = JSON.parse(text) as ErrorBody; } catch { /* not JSON: the text itself is the message */ }
    throw errorFrom(res.status, j, text || res.statusText);
  }
  if (!res.body) throw new Error('the node sent no stream');

  const turn: Turn = { role: 'assistant', content: '', model: o.model };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const { data, rest } = takeEvents(buffer);
    buffer = rest;
    for (const d of data) {
      if (d === '[DONE]') {
        void reader.cancel().catch(() => undefined);
        return turn;
      }
      const chunk = JSON.parse(d) as ErrorBody & {
        choices?: Array<{ delta?: { content?: string }; finish_reason?: string | null }>;
        usage?: Turn['usage']; openledger?: AnswerAttribution;
      };
      if (chunk.error) throw errorFrom(typeof chunk.error === 'object' && chunk.error.type === 'insufficient_funds' ? 402 : 500, chunk, 'the answer failed');
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) {
        turn.content += choice.delta.content;
        o.onText(turn.content);
      }
      if (choice?.finish_reason) turn.finish = choice.finish_reason;
      if (chunk.usage) turn.usage = chunk.usage;
      if (chunk.openledger) turn.openledger = chunk.openledger;
    }
  }
  throw new Error('the stream ended before the answer was complete');
}
