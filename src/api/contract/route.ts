import type { z } from 'zod';

/** Who may call a route: anyone; a request signed by the acting wallet (request-signature.ts); or a consumer (an API key or a signed request). */
export type RouteAuth = 'none' | 'signed' | 'consumer';

/**
 * One route of the node's HTTP API, as data: where it is, who may call it, what it takes and what
 * it answers. The server parses requests with these schemas, the clients (CLI, web app, the typed
 * client) build requests and read answers with them, and the OpenAPI document is generated from
 * them (src/api/openapi.ts). Paths use Fastify's `:name` parameters.
 *
 * @example
 * export const getDatanet = defineRoute({ id: 'getDatanet', method: 'GET', path: '/datanets/:id', tag: 'datanets', summary: 'A datanet', auth: 'none', params: z.object({ id }), response: datanet });
 */
export interface RouteDefinition {
  /** The OpenAPI operationId. */
  id: string;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  tag: string;
  summary: string;
  auth: RouteAuth;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** A JSON body. */
  body?: z.ZodType;
  /** The body is a file as multipart/form-data (part `file`), with these request headers. */
  multipart?: { headers: z.ZodObject };
  /** The JSON answer on success; absent when the answer is not JSON (see `produces`). */
  response?: z.ZodType;
  /** The media type of an answer that is not JSON (a file, an event stream, Prometheus text). */
  produces?: string;
  /** The status of a successful answer (default 200); `statuses` when it may be either. */
  status?: number;
  statuses?: readonly number[];
  /** More about the route than its summary (OpenAPI description). */
  description?: string;
}

/** Declares a route (the identity: keeps its literal types for the typed client). */
export function defineRoute<const R extends RouteDefinition>(route: R): R {
  return route;
}

type Part<S, K extends string, Optional extends boolean = false> = S extends z.ZodType
  ? Optional extends true ? { [P in K]?: z.input<S> } : { [P in K]: z.input<S> }
  : { [P in K]?: never };

/** What a caller passes to a route: its path parameters, query and body, as the schemas take them. */
export type RouteInput<R extends RouteDefinition> = Part<R['params'], 'params'> & Part<R['query'], 'query', true> & Part<R['body'], 'body'>;

/** What a route answers, as its schema reads it. */
export type RouteOutput<R extends RouteDefinition> = R['response'] extends z.ZodType ? z.output<R['response']> : never;

/** The success statuses of a route. */
export function successStatuses(route: RouteDefinition): readonly number[] {
  return route.statuses ?? [route.status ?? 200];
}

/**
 * The path of a route with its parameters filled in (each encoded as a path segment).
 *
 * @example
 * pathOf(getDatanet, { id: 3 }); // '/datanets/3'
 */
export function pathOf(route: RouteDefinition, params: Record<string, unknown> = {}): string {
  return route.path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === null) throw new TypeError(`${route.id}: path parameter ${name} is missing`);
    return encodeURIComponent(String(value));
  });
}
