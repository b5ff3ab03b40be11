import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem';
import { z } from 'zod';
import type { AttributedSpan } from '../../attribution/span-signal.ts';
import { runAttributedInference, type InferenceNode, type Meter } from '../../attribution/attributed-inference.ts';
import { getPublishedModel, listPublishedModels, type ModelLoader } from '../../attribution/published-models.ts';
import { getReceipt } from '../../attribution/receipts.ts';
import type { Receipt } from '../../attribution/receipt-types.ts';
import type { Admission } from '../../serve/admission.ts';
import type { Engine } from '../../serve/engine.ts';
import type { DatanetContext } from '../../datanet/context.ts';
import { BlobNotFoundError, toBlobHash } from '../../store/blobs.ts';
import { authenticate } from '../authenticate.ts';
import { HttpError } from '../errors.ts';

export interface AttributionRouteContext extends DatanetContext {
  models: ModelLoader;
  /** What generates text (built-in, llama.cpp or remote). */
  engine: Engine;
  meter?: Meter;
  admission?: Admission;
}

const inferenceBody = z.object({
  model: z.string().min(1).max(64),
  prompt: z.string().min(1).max(8000),
  maxTokens: z.number().int().min(1).max(512).default(64),
  temperature: z.number().min(0).max(2).default(0),
  topP: z.number().gt(0).max(1).default(1),
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
}).strict();

/** How many credited contributions an inference answer lists (the receipt has them all). */
const TOP_CONTRIBUTIONS = 10;

/** The node as inference needs it. */
export function inferenceNode(ctx: AttributionRouteContext): InferenceNode {
  return { account: ctx.clients.account as LocalAccount, chainId: ctx.clients.chain.id, contracts: ctx.contracts, db: ctx.db, models: ctx.models, engine: ctx.engine, ...(ctx.meter ? { meter: ctx.meter } : {}), ...(ctx.admission ? { admission: ctx.admission } : {}) };
}

/** What an answer says about its attribution: the top contributions with their spans, every span, the evidence and (when it abstained) the datanets' pools. */
export function attributionSummary(receipt: Receipt, spans: AttributedSpan[]) {
  return {
    contributions: receipt.body.contributions.slice(0, TOP_CONTRIBUTIONS).map(({ contributionId, datanetId, sharePpm, spans: ranges }) => ({ contributionId, datanetId, sharePpm, spans: ranges })),
    spans: spans.map((s) => ({ start: s.chars[0], end: s.chars[1], count: s.count, contributions: s.contributions })),
    evidence: receipt.body.evidence,
    pools: receipt.body.pools,
  };
}

/**
 * Inference with Proof of Attribution, receipts, published models and public blobs.
 * `POST /inference` (signed by the consumer) generates with a published model, attributes the
 * output to the contributions that shaped it, signs and stores the receipt, and only then answers
 * with the output, its usage, its fee and the top contributions with their spans (character
 * offsets in the output, for highlighting). The OpenAI-compatible API (serving issue) goes
 * through the same attribution.
 */
export function attributionRoutes(app: FastifyInstance, ctx: AttributionRouteContext): void {
  const chainId = ctx.clients.chain.id;

  app.post('/inference', async (request) => {
    const consumer = await authenticate(ctx.db, { chainId, node: ctx.clients.account.address }, request);
    const body = inferenceBody.parse(request.body);
    const { output, finishReason, receipt, spans, usage } = await runAttributedInference(inferenceNode(ctx), { ...body, consumer });
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

  app.get('/attribution/:receiptId', async (request) => getReceipt(ctx.db, z.object({ receiptId: z.string().max(66) }).parse(request.params).receiptId));

  app.get('/models', async () => ({ models: await listPublishedModels(ctx.db) }));
  app.get('/models/:name', async (request) => getPublishedModel(ctx.db, z.object({ name: z.string().max(64) }).parse(request.params).name));

  // Content-addressed blobs (adapters, traces, datanet metadata) are public: what a verifier needs.
  app.get('/blobs/:hash', async (request, reply) => {
    const { hash } = z.object({ hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a blob hash (0x + 64 hex digits)') }).parse(request.params);
    try {
      return reply.type('application/octet-stream').send(await ctx.blobs.open(toBlobHash(hash)));
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new HttpError(404, 'not_found', `no blob ${hash}`);
      throw err;
    }
  });
}
