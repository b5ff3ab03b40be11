import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { NodeContext } from '../../store/node-context.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../../inference/api-keys.ts';
import { authenticate } from '../authenticate.ts';

/**
 * API keys for the OpenAI-compatible API, each bound to the account that signed its creation:
 * `POST /api-keys` `{ name? }` answers the key once; `GET /api-keys` lists the signer's keys;
 * `DELETE /api-keys/:id` revokes one. All signed by the account.
 */
export function apiKeyRoutes(app: FastifyInstance, ctx: NodeContext): void {
  const signer = (request: Parameters<typeof authenticate>[2]) => authenticate(ctx.db, { chainId: ctx.clients.chain.id, node: ctx.clients.account.address }, request);
  app.post('/api-keys', async (request, reply) => {
    const account = await signer(request);
    const { name } = z.object({ name: z.string().max(100).default('') }).strict().parse(request.body ?? {});
    return reply.status(201).send(await createApiKey(ctx.db, account, name));
  });
  app.get('/api-keys', async (request) => ({ apiKeys: await listApiKeys(ctx.db, await signer(request)) }));
  app.delete('/api-keys/:id', async (request) => revokeApiKey(ctx.db, z.object({ id: z.string().max(100) }).parse(request.params).id, await signer(request)));
}
