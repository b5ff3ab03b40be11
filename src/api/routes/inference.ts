import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Address, LocalAccount } from 'viem';
import * as contract from '../contract/inference.ts';
import { serveRoute } from '../serve-route.ts';
import type { ModelLoader } from '../../attribution/model-loader.ts';
import type { NodeContext } from '../../store/node-context.ts';
import type { Admission } from '../../inference/admission.ts';
import { accountOfApiKey } from '../../inference/api-keys.ts';
import { REQUEST_KEY } from '../../inference/answered-requests.ts';
import { attributionSummary } from '../../inference/attribution-summary.ts';
import type { Meter } from '../../inference/meter.ts';
import { runInference, type InferenceNode } from '../../inference/run-inference.ts';
import type { Engine } from '../../serve/engine.ts';
import { authenticate } from '../authenticate.ts';
import { CodedError } from '../../util/coded-error.ts';

/** What the inference doors (`/inference`, `/v1/*`) need of the node. */
export interface InferenceRouteContext extends NodeContext {
  models: ModelLoader;
  /** What generates text (built-in, llama.cpp or remote). */
  engine: Engine;
  meter?: Meter;
  admission?: Admission;
}

/** The node as the inference pipeline needs it. */
export function inferenceNode(ctx: InferenceRouteContext): InferenceNode {
  return { account: ctx.clients.account as LocalAccount, chainId: ctx.clients.chain.id, contracts: ctx.contracts, db: ctx.db, models: ctx.models, engine: ctx.engine, ...(ctx.meter ? { meter: ctx.meter } : {}), ...(ctx.admission ? { admission: ctx.admission } : {}) };
}

/**
 * Who is asking, at every inference door: `Authorization: Bearer <API key>` (keys are bound to an
 * account: `POST /api-keys`) or a request signed by the consumer's wallet. 401 otherwise.
 */
export async function consumerOf(ctx: InferenceRouteContext, request: FastifyRequest): Promise<Address> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer) return accountOfApiKey(ctx.db, bearer);
  if (request.headers['x-openledger-signature']) return authenticate(ctx.db, { chainId: ctx.clients.chain.id, node: ctx.clients.account.address }, request);
  throw new CodedError('unauthorized', 'pass an API key as "Authorization: Bearer olk_…" (create one with POST /api-keys) or sign the request');
}

/**
 * The request's `Idempotency-Key` header, if it has one: a retry under the same key (after a lost
 * answer, or on another try) is answered with the first answer and receipt, and charged once.
 */
export function requestKeyOf(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !REQUEST_KEY.test(key)) throw new CodedError('bad_idempotency_key', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  return key;
}

/**
 * `POST /inference`: this API's own form of the pipeline `/v1` runs (the same consumer
 * authentication, sampling limits, metering, attribution and receipt), answering in one JSON
 * object: the output, its usage, its fee, its receipt id and the top contributions with their
 * spans. The CLI's `infer` uses it.
 */
export function inferenceRoutes(app: FastifyInstance, ctx: InferenceRouteContext): void {
  serveRoute(app, contract.infer, async (input, request) => {
    const consumer = await consumerOf(ctx, request);
    const body = input.body;
    const requestKey = requestKeyOf(request);
    const { output, finishReason, receipt, spans, usage } = await runInference(inferenceNode(ctx), { ...body, consumer, ...(requestKey ? { requestKey } : {}) });
    // a base model alone has no receipt: nothing attributed, nothing charged
    return {
      model: body.model,
      modelId: receipt?.body.model.id ?? null,
      output,
      finishReason,
      usage: { ...usage, totalTokens: usage.promptTokens + usage.completionTokens },
      fee: receipt?.body.fee ?? null,
      receiptId: receipt?.id ?? null,
      attribution: receipt ? attributionSummary(receipt, spans) : null,
    };
  });
}
