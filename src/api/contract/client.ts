import type { Hex, LocalAccount } from 'viem';
import { bodyHashOf, signRequest, type RequestTarget } from '../request-signature.ts';
import { getStatus } from './node.ts';
import { pathOf, type RouteDefinition, type RouteInput, type RouteOutput } from './route.ts';

/** An error answer of the node (its HTTP status, its code and its message), or no answer at all (status 0, code `unreachable`). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** What signs requests: a wallet account (viem's LocalAccount, or the browser's). */
export type RequestSigner = Pick<LocalAccount, 'address' | 'signTypedData'>;

/** What a call may add to a route's input. */
export interface CallOptions {
  /** Sign as this account (overrides the client's signer; null: do not sign). */
  signer?: RequestSigner | null;
  /** A multipart route's file, and the hash its signature covers (the file's keccak256). */
  form?: FormData;
  bodyHash?: Hex;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface ApiClientOptions {
  /** The node's URL ('' in the web app: the same origin). */
  baseUrl: string;
  /** Signs the routes that need a signature (and consumer routes without an API key). */
  signer?: RequestSigner | null;
  /** An API key for consumer routes. */
  apiKey?: string;
  fetch?: typeof fetch;
}

/** The node's API as typed calls: one per route of the contract. */
export interface ApiClient {
  /** Calls a route and returns its answer, read (and checked) by the route's response schema; an error answer throws an {@link ApiError}. */
  call<R extends RouteDefinition>(route: R, input: RouteInput<R>, options?: CallOptions): Promise<RouteOutput<R>>;
  /** Sends a route's request and returns the raw response, whatever its status: for streams and files. */
  send<R extends RouteDefinition>(route: R, input: RouteInput<R>, options?: CallOptions): Promise<Response>;
  /** The chain and account signed requests are for (from `/status`, once). */
  target(): Promise<RequestTarget>;
}

/** An error answer as an {@link ApiError}: the node's JSON error (`{ error, message }`, or OpenAI's `{ error: { code, message } }`), else its text. */
export async function apiErrorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const j = JSON.parse(text) as { error?: string | { message?: string; code?: string | null }; message?: string };
    const message = typeof j.error === 'object' ? j.error.message : j.message ?? (typeof j.error === 'string' ? j.error : undefined);
    const code = typeof j.error === 'object' ? j.error.code : j.error;
    return new ApiError(res.status, code ?? String(res.status), message ?? text);
  } catch {
    return new ApiError(res.status, String(res.status), text || res.statusText);
  }
}

const queryString = (query: Record<string, unknown> | undefined): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

/**
 * A client of the node's API from its contract: builds each route's path, query and body from the
 * route's definition, signs the routes that need it (EIP-712, request-signature.ts), and reads each
 * answer with the route's response schema, so what the node sends is what the caller's types say.
 * The CLI and the web app both call the node through it.
 *
 * @example
 * const client = createApiClient({ baseUrl: 'http://127.0.0.1:8080', signer: account });
 * const datanet = await client.call(routes.createDatanet, { body: { name: 'medical-qa', licence: 'CC-BY-4.0' } });
 */
export function createApiClient(o: ApiClientOptions): ApiClient {
  const doFetch = o.fetch ?? ((input, init) => fetch(input, init));
  let target: Promise<RequestTarget> | undefined;
  const client: ApiClient = {
    target() {
      target ??= client.call(getStatus, {}, { signer: null }).then((s) => ({ chainId: s.chain.id, node: s.nodeAccount }));
      target.catch(() => (target = undefined));
      return target;
    },
    async send(route, input, options = {}) {
      const i = input as { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown };
      const path = pathOf(route, i.params) + queryString(i.query);
      const body = options.form ?? (i.body === undefined ? undefined : JSON.stringify(i.body));
      const headers: Record<string, string> = { ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}), ...options.headers };
      const signer = options.signer === undefined ? o.signer : options.signer;
      if (route.auth === 'consumer' && o.apiKey && options.signer === undefined) headers['authorization'] = `Bearer ${o.apiKey}`;
      else if (route.auth !== 'none' && signer) {
        const bodyHash = options.bodyHash ?? bodyHashOf(typeof body === 'string' ? body : undefined);
        Object.assign(headers, await signRequest(signer, { ...(await client.target()), method: route.method, path, bodyHash }));
      }
      try {
        return await doFetch(`${o.baseUrl}${path}`, { method: route.method, headers, ...(body !== undefined ? { body } : {}), ...(options.signal ? { signal: options.signal } : {}) });
      } catch (err) {
        if ((err as Error).name === 'AbortError') throw err;
        throw new ApiError(0, 'unreachable', `no node answers at ${o.baseUrl || 'this origin'} (${String((err as Error).cause ?? (err as Error).message)})`);
      }
    },
    async call(route, input, options) {
      const res = await client.send(route, input, options);
      if (!res.ok) throw await apiErrorOf(res);
      if (!route.response) throw new TypeError(`${route.id} does not answer JSON: use send()`);
      return route.response.parse(await res.json()) as RouteOutput<typeof route>;
    },
  };
  return client;
}
