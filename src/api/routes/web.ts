import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { isLoopback } from '../../util/allowed-host.ts';
import { CodedError } from '../../util/coded-error.ts';
import { devAccounts } from '../contract/node.ts';
import { serveRoute } from '../serve-route.ts';

/** The built web app (`npm run build:web`). */
export const WEB_DIST = join(import.meta.dirname, '../../../web/dist');

/**
 * The no-code web app at `/` (hash routes, so every API path stays the API's), and, in development
 * mode only (the node passes the mnemonic only then) and only to loopback callers, the embedded
 * chain's development accounts' mnemonic (the browser signs as them the way the CLI's `--account`
 * does).
 */
export function webRoutes(app: FastifyInstance, ctx: { devMnemonic?: string | undefined; webRoot?: string }): void {
  const root = ctx.webRoot ?? WEB_DIST;
  if (existsSync(join(root, 'index.html'))) {
    void app.register(fastifyStatic, { root, prefix: '/', wildcard: false, index: 'index.html' });
  } else {
    app.get('/', async (_, reply) => reply.type('text/html').send('<p>The web app is not built: run <code>npm run build:web</code> (npm start does it).</p>'));
  }
  serveRoute(app, devAccounts, async (_, request) => {
    if (!ctx.devMnemonic) return { mnemonic: null };
    if (!isLoopback(request.ip)) throw new CodedError('forbidden', 'development accounts are only shared with this machine');
    return { mnemonic: ctx.devMnemonic };
  });
}
