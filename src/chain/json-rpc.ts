import { RpcError } from './errors.ts';

/** One JSON-RPC 2.0 request. */
export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: number | string | null;
  method: string;
  params?: unknown[];
}

/** One JSON-RPC 2.0 response. */
export interface JsonRpcResponse {
  jsonrpc: '2.0';
  id: number | string | null;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

let nextId = 1;

/**
 * Sends one JSON-RPC request over HTTP and returns the whole response, error or not.
 *
 * @example
 * const res = await postJsonRpc('http://127.0.0.1:8545', { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
 */
export async function postJsonRpc(url: string, request: JsonRpcRequest): Promise<JsonRpcResponse> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  if (!res.ok && res.status !== 200) {
    throw new RpcError(request.method, -32603, `HTTP ${res.status} from ${url}`);
  }
  return (await res.json()) as JsonRpcResponse;
}

/**
 * Calls a JSON-RPC method and returns its result, throwing {@link RpcError} on an error response.
 *
 * @example
 * const hex = await callJsonRpc<string>(url, 'eth_blockNumber');
 */
export async function callJsonRpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await postJsonRpc(url, { jsonrpc: '2.0', id: nextId++, method, params });
  if (res.error) throw new RpcError(method, res.error.code, res.error.message, res.error.data);
  return res.result as T;
}
