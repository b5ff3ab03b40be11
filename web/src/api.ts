import type { Address, Hex } from 'viem';
import { bodyHashOf, signRequest, type RequestTarget } from '../../src/api/request-signature.ts';
import type { Signer } from './account.tsx';

/** An error answer of the node: its status, code and message, shown to people as is. */
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

let target: RequestTarget | undefined;
/** The node signed requests are for: its chain and account (a signature for one node is refused by another). */
export async function nodeTarget(): Promise<RequestTarget> {
  if (!target) {
    const s = await api<{ chain: { id: number }; nodeAccount: Address }>('GET', '/status');
    target = { chainId: s.chain.id, node: s.nodeAccount };
  }
  return target;
}

const errorOf = async (res: Response): Promise<ApiError> => {
  const text = await res.text();
  try {
    const j = JSON.parse(text) as { error?: string | { message?: string; code?: string }; message?: string; code?: string };
    const message = typeof j.error === 'object' ? j.error.message : j.message ?? (typeof j.error === 'string' ? j.error : undefined);
    const code = typeof j.error === 'object' ? j.error.code : j.code;
    return new ApiError(res.status, code ?? String(res.status), message ?? text);
  } catch {
    return new ApiError(res.status, String(res.status), text || res.statusText);
  }
};

/**
 * Calls the node's HTTP API (same origin); with a signer, signs the request as the CLI does
 * (EIP-712 over method, path, body hash, time and nonce). Errors become {@link ApiError}s carrying
 * the node's message.
 *
 * @example
 * const { datanets } = await api<{ datanets: Datanet[] }>('GET', '/datanets');
 * await api('POST', '/datanets', { body: { name, licence }, signer });
 */
export async function api<T>(method: string, path: string, o: { body?: unknown; signer?: Signer | null; form?: FormData; bodyHash?: Hex; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<T> {
  const res = await request(method, path, o);
  if (!res.ok) throw await errorOf(res);
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

/** The raw response of a (signed) request, whatever its status: for streams. */
export async function request(method: string, path: string, o: { body?: unknown; signer?: Signer | null; form?: FormData; bodyHash?: Hex; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  const body = o.form ?? (o.body === undefined ? undefined : JSON.stringify(o.body));
  const headers: Record<string, string> = { ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}), ...o.headers };
  if (o.signer) {
    const hash = o.bodyHash ?? bodyHashOf(typeof body === 'string' ? body : undefined);
    Object.assign(headers, await signRequest(o.signer, { ...(await nodeTarget()), method, path, bodyHash: hash }));
  }
  return fetch(path, { method, headers, ...(body !== undefined ? { body } : {}), ...(o.signal ? { signal: o.signal } : {}) });
}

/** Formats wei of OPEN for people: up to 6 decimals, no trailing zeros. */
export function open(wei: string | bigint): string {
  const v = BigInt(wei);
  const whole = v / 10n ** 18n, frac = (v % 10n ** 18n).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '');
  return `${whole.toLocaleString('en')}${frac ? `.${frac}` : ''} OPEN`;
}
