import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { successStatuses, type RouteDefinition } from './contract/route.ts';

type Out<S> = S extends z.ZodType ? z.output<S> : never;

/**
 * A request read through its route's schemas: each part is parsed when first read (a ZodError, a
 * 400 naming the field, then), so a handler still checks who is asking before what is asked.
 */
export interface ParsedRequest<R extends RouteDefinition> {
  readonly params: Out<R['params']>;
  readonly query: Out<R['query']>;
  readonly body: Out<R['body']>;
  /** The multipart route's declared headers. */
  readonly headers: R['multipart'] extends { headers: infer H } ? Out<H> : never;
}

function parsedRequest<R extends RouteDefinition>(route: R, request: FastifyRequest): ParsedRequest<R> {
  const cache = new Map<string, unknown>();
  const part = (name: string, schema: z.ZodType | undefined, value: () => unknown) => {
    if (!schema) throw new TypeError(`${route.id} declares no ${name}`);
    if (!cache.has(name)) cache.set(name, schema.parse(value()));
    return cache.get(name);
  };
  return {
    get params() { return part('params', route.params, () => request.params) as never; },
    get query() { return part('query', route.query, () => request.query) as never; },
    get body() { return part('body', route.body, () => request.body) as never; },
    get headers() { return part('headers', route.multipart?.headers, () => request.headers) as never; },
  };
}

/**
 * Registers a route of the API's contract on the server: its method and path from the definition,
 * its input parsed with the definition's schemas. `prefix` is the path of the plugin it is
 * registered in (`/v1`).
 *
 * @example
 * serveRoute(app, routes.getDatanet, async ({ params }) => getDatanet(db, params.id));
 */
export function serveRoute<R extends RouteDefinition>(
  app: FastifyInstance,
  route: R,
  handler: (input: ParsedRequest<R>, request: FastifyRequest, reply: FastifyReply) => unknown,
  o: { bodyLimit?: number; prefix?: string } = {},
): void {
  const url = o.prefix ? route.path.slice(o.prefix.length) : route.path;
  app.route({ method: route.method, url, ...(o.bodyLimit ? { bodyLimit: o.bodyLimit } : {}), handler: (request, reply) => handler(parsedRequest(route, request), request, reply) as Promise<unknown> });
}

/**
 * Checks every successful JSON answer against its route's response schema, and answers a 500
 * `response_contract` naming the fields where one does not match (the node's fault: what it sent is
 * not what it documents). For tests and development (`OPENLEDGER_CHECK_RESPONSES`); error answers
 * and answers that are not JSON pass as they are.
 */
export function checkResponses(app: FastifyInstance, routes: readonly RouteDefinition[]): void {
  const byRoute = new Map(routes.map((r) => [`${r.method} ${r.path}`, r]));
  app.addHook('onSend', async (request, reply, payload) => {
    const route = byRoute.get(`${request.method} ${request.routeOptions.url}`);
    if (!route?.response || typeof payload !== 'string' || !successStatuses(route).includes(reply.statusCode)) return payload;
    if (!String(reply.getHeader('content-type') ?? '').includes('application/json')) return payload;
    const checked = route.response.safeParse(JSON.parse(payload));
    if (checked.success) return payload;
    const message = `${route.id} answered outside its schema: ${z.prettifyError(checked.error)}`;
    request.log.error(message);
    reply.code(500);
    return JSON.stringify({ error: 'response_contract', message });
  });
}
