import type { FastifyInstance } from 'fastify';
import * as contract from '../contract/inference.ts';
import { serveRoute } from '../serve-route.ts';
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
  serveRoute(app, contract.createApiKey, async (input, request, reply) => {
    const account = await signer(request);
    return reply.status(201).send(await createApiKey(ctx.db, account, input.body?.name ?? ''));
  });
  serveRoute(app, contract.listApiKeys, async (_, request) => ({ apiKeys: await listApiKeys(ctx.db, await signer(request)) }));
  serveRoute(app, contract.revokeApiKey, async (input, request) => revokeApiKey(ctx.db, input.params.id, await signer(request)));
}
