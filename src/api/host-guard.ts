import type { FastifyInstance } from 'fastify';
import { DEFAULT_ALLOWED_HOSTS, isAllowedHost } from '../util/allowed-host.ts';
import { CodedError } from '../util/coded-error.ts';

/**
 * Refuses (403 `host_not_allowed`) every request whose Host is a name this node was not told it
 * answers to: a page on another domain rebound to 127.0.0.1 gets nothing. IP literals pass.
 *
 * @example
 * installHostGuard(app, ['localhost', 'node.example.org']);
 */
export function installHostGuard(app: FastifyInstance, allowedHosts: readonly string[] = DEFAULT_ALLOWED_HOSTS): void {
  app.addHook('onRequest', async (request) => {
    if (!isAllowedHost(request.host, allowedHosts)) {
      throw new CodedError('host_not_allowed', `this node does not answer to the host ${JSON.stringify(request.host)} (OPENLEDGER_ALLOWED_HOSTS)`);
    }
  });
}
