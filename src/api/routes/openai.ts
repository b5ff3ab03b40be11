import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import * as contract from '../contract/inference.ts';
import { serveRoute } from '../serve-route.ts';
import { runInference, type InferenceResult } from '../../inference/run-inference.ts';
import { listPublishedModels } from '../../factory/published-models.ts';
import { listBaseModels } from '../../factory/base-models.ts';
import { chatPrompt } from '../../serve/chat-template.ts';
import { CodedError } from '../../util/coded-error.ts';
import { statusOf } from '../error-statuses.ts';
import { consumerOf, inferenceNode, requestKeyOf, type InferenceRouteContext } from './inference.ts';
import { attributionSummary } from '../../inference/attribution-summary.ts';
import type { Sampling } from '../../serve/engine.ts';

/** OpenAI's error body: `{ error: { message, type, param, code } }`. */
function openAiError(err: unknown): { status: number; body: { error: { message: string; type: string; param: string | null; code: string | null } } } {
  if (err instanceof ZodError) {
    const issue = err.issues[0]!;
    const param = issue.path.join('.') || null;
    return { status: 400, body: { error: { message: `${param ?? 'input'}: ${issue.message}`, type: 'invalid_request_error', param, code: null } } };
  }
  if (err instanceof CodedError) {
    const status = statusOf(err);
    const type = status === 401 ? 'authentication_error' : status === 402 ? 'insufficient_funds' : status === 404 ? 'not_found_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
    return { status, body: { error: { message: err.message, type, param: null, code: err.code } } };
  }
  const status = (err as { statusCode?: number }).statusCode ?? 500;
  return { status, body: { error: { message: status >= 500 ? 'internal error' : (err as Error).message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } } };
}

/**
 * The OpenAI-compatible API under `/v1`: `GET /v1/models`, `POST /v1/completions` and
 * `POST /v1/chat/completions`, with `stream: true` as server-sent events. The `model` field names a
 * published model (an adapter on its base) or a base model (served alone: no receipt, no fee). Callers authenticate with `Authorization: Bearer
 * <API key>` (keys are bound to an account: `POST /api-keys`) or a signed request. Every answer is
 * attributed; its receipt id, fee and top contributions travel in an `openledger` field (the last
 * chunk when streaming), which OpenAI clients ignore.
 */
export function openAiRoutes(app: FastifyInstance, ctx: InferenceRouteContext): void {
  void app.register(async (v1) => {
    v1.setErrorHandler((err, request, reply) => {
      const { status, body } = openAiError(err);
      if (status >= 500) request.log.error(err);
      if (err instanceof CodedError && 'retryAfterSeconds' in err) reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.status(status).send(body);
    });

    serveRoute(v1, contract.openAiModels, async () => ({
      object: 'list',
      data: [
        ...(await listPublishedModels(ctx.db)).map((m) => ({ id: m.name, object: 'model', created: 0, owned_by: m.owner, openledger: { modelId: m.modelId, baseModel: m.baseModelId, adapter: m.adapterHash, pricePer1kTokens: m.pricePer1kTokens } })),
        ...(await listBaseModels(ctx.db)).map((b) => ({ id: b.name, object: 'model', created: Math.floor(Date.parse(b.createdAt) / 1000), owned_by: 'openledger', openledger: { modelId: null, baseModel: b.id, adapter: null, pricePer1kTokens: '0' } })),
      ],
    }), { prefix: '/v1' });

    /** Runs one request, as JSON or as a server-sent-event stream of chunks built by `chunk`. */
    const serve = async (
      request: FastifyRequest, reply: FastifyReply,
      o: Sampling & { model: string; prompt: () => Promise<string>; stream: boolean },
      shape: { id: string; object: string; chunkObject: string; full(r: InferenceResult, finish: string): unknown; chunk(delta: string | null, finish: string | null): unknown },
    ) => {
      const consumer = await consumerOf(ctx, request); // before any model is touched
      const requestKey = requestKeyOf(request);
      const prompt = await o.prompt();
      const created = Math.floor(Date.now() / 1000);
      const extras = (r: InferenceResult) => ({
        usage: { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens, total_tokens: r.usage.promptTokens + r.usage.completionTokens },
        // a base model alone has no receipt: nothing attributed, nothing charged
        openledger: r.receipt ? { receipt_id: r.receipt.id, fee: r.receipt.body.fee, attribution: attributionSummary(r.receipt, r.spans) } : { receipt_id: null, fee: null, attribution: null },
      });
      const finish = (r: InferenceResult) => (r.finishReason === 'length' ? 'length' : 'stop');
      const inference = { model: o.model, prompt, maxTokens: o.maxTokens, temperature: o.temperature, topP: o.topP, seed: o.seed, stop: o.stop, consumer, ...(requestKey ? { requestKey } : {}) };
      if (!o.stream) {
        const r = await runInference(inferenceNode(ctx), inference);
        return { id: `${shape.id}-${r.receipt ? r.receipt.id.slice(2, 26) : randomUUID().replaceAll('-', '').slice(0, 24)}`, object: shape.object, created, model: o.model, ...(shape.full(r, finish(r)) as object), ...extras(r) };
      }
      // streaming: the head is sent with the first piece of text, so an error before any output is a plain JSON error
      const controller = new AbortController();
      request.raw.on('close', () => controller.abort());
      const id = `${shape.id}-${Date.now().toString(16)}`;
      let started = false;
      const send = (data: unknown) => {
        if (!started) {
          reply.hijack();
          reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
          started = true;
        }
        reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
      };
      const base = { id, object: shape.chunkObject, created, model: o.model };
      try {
        const r = await runInference(inferenceNode(ctx), { ...inference, signal: controller.signal, onText: (delta) => send({ ...base, ...(shape.chunk(delta, null) as object) }) });
        send({ ...base, ...(shape.chunk(null, finish(r)) as object), ...extras(r) });
      } catch (err) {
        if (!started) throw err;
        send(openAiError(err).body);
      }
      reply.raw.write('data: [DONE]\n\n');
      reply.raw.end();
    };

    serveRoute(v1, contract.openAiCompletions, async (input, request, reply) => {
      const b = input.body;
      return serve(request, reply, {
        model: b.model, prompt: async () => (typeof b.prompt === 'string' ? b.prompt : b.prompt[0]!), maxTokens: b.max_tokens ?? 16, temperature: b.temperature ?? 1, topP: b.top_p ?? 1,
        seed: b.seed ?? 0, stop: b.stop, stream: b.stream ?? false,
      }, {
        id: 'cmpl', object: 'text_completion', chunkObject: 'text_completion',
        full: (r, finish) => ({ choices: [{ index: 0, text: r.output, finish_reason: finish, logprobs: null }] }),
        chunk: (delta, finish) => ({ choices: [{ index: 0, text: delta ?? '', finish_reason: finish, logprobs: null }] }),
      });
    }, { prefix: '/v1' });

    const chatTokenizer = async (name: string) => {
      const m = await ctx.models.resolve(name);
      if (m.kind === 'base') return m.tokenizer.toConfig();
      m.loaded.release(); // only its tokenizer's configuration is kept
      return m.loaded.tokenizer.toConfig();
    };

    serveRoute(v1, contract.openAiChatCompletions, async (input, request, reply) => {
      const b = input.body;
      let first = true;
      return serve(request, reply, {
        model: b.model, prompt: async () => chatPrompt(await chatTokenizer(b.model), b.messages), maxTokens: b.max_completion_tokens ?? b.max_tokens ?? 256, temperature: b.temperature ?? 1,
        topP: b.top_p ?? 1, seed: b.seed ?? 0, stop: b.stop, stream: b.stream ?? false,
      }, {
        id: 'chatcmpl', object: 'chat.completion', chunkObject: 'chat.completion.chunk',
        full: (r, finish) => ({ choices: [{ index: 0, message: { role: 'assistant', content: r.output, refusal: null }, finish_reason: finish, logprobs: null }] }),
        chunk: (delta, finish) => {
          const d = delta === null ? {} : first ? { role: 'assistant', content: delta } : { content: delta };
          if (delta !== null) first = false;
          return { choices: [{ index: 0, delta: d, finish_reason: finish, logprobs: null }] };
        },
      });
    }, { prefix: '/v1' });
  }, { prefix: '/v1' });
}
