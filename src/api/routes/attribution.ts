import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
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
  app.get('/attribution/:receiptId', async (request) => getReceipt(ctx.db, z.object({ receiptId: z.string().max(66) }).parse(request.params).receiptId));

  app.get('/models', async () => ({ models: await listPublishedModels(ctx.db) }));
  app.get('/models/:name', async (request) => getPublishedModel(ctx.db, z.object({ name: z.string().max(64) }).parse(request.params).name));

  // Content-addressed blobs (adapters, traces, datanet metadata) are public: what a verifier needs.
  app.get('/blobs/:hash', async (request, reply) => {
    const { hash } = z.object({ hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a blob hash (0x + 64 hex digits)') }).parse(request.params);
    try {
      return reply.type('application/octet-stream').send(await ctx.blobs.open(toBlobHash(hash)));
    } catch (err) {
      if (err instanceof BlobNotFoundError) throw new CodedError('not_found', `no blob ${hash}`);
      throw err;
    }
  });
}
