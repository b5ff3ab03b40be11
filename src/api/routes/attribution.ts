import type { FastifyInstance } from 'fastify';
import * as attribution from '../contract/attribution.ts';
import * as factory from '../contract/factory.ts';
import { serveRoute } from '../serve-route.ts';
import { getPublishedModel, listPublishedModels } from '../../factory/published-models.ts';
import { getReceipt } from '../../attribution/receipts.ts';
import type { NodeContext } from '../../store/node-context.ts';
import { BlobNotFoundError, toBlobHash } from '../../store/blobs.ts';
import { CodedError } from '../../util/coded-error.ts';

/**
 * What anyone may read to check an inference: its receipt, the published models and the
 * content-addressed blobs (adapters, traces, datanet metadata) a verifier needs.
 */
export function attributionRoutes(app: FastifyInstance, ctx: NodeContext): void {
  serveRoute(app, attribution.getReceipt, async ({ params }) => getReceipt(ctx.db, params.receiptId));

  serveRoute(app, factory.listModels, async () => ({ models: await listPublishedModels(ctx.db) }));
  serveRoute(app, factory.getModel, async ({ params }) => getPublishedModel(ctx.db, params.name));

  // Content-addressed blobs (adapters, traces, datanet metadata) are public: what a verifier needs.
  serveRoute(app, attribution.getBlob, async (input, _request, reply) => {
    const { hash } = input.params;
    try {
      return reply.type('application/octet-stream').send(await ctx.blobs.open(toBlobHash(hash)));
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new CodedError('not_found', `no blob ${hash}`);
      throw err;
    }
  });
}
