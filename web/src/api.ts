import { createApiClient, type CallOptions } from '../../src/api/contract/client.ts';
import type { RouteDefinition, RouteInput, RouteOutput } from '../../src/api/contract/index.ts';
import type { Signer } from './account.tsx';

export { ApiError, apiErrorOf } from '../../src/api/contract/client.ts';
export { routes } from '../../src/api/contract/index.ts';
export type { RouteInput, RouteOutput } from '../../src/api/contract/index.ts';

/** The node's API, same origin, through the contract's typed client (the one the CLI uses). */
const client = createApiClient({ baseUrl: '', signer: null });

/** The node signed requests are for: its chain and account (a signature for one node is refused by another). */
export const nodeTarget = () => client.target();

type Options = Omit<CallOptions, 'signer'> & { signer?: Signer | null };

/**
 * Calls a route of the node's API; with a signer, signs the request as the CLI does (EIP-712 over
 * method, path, body hash, time and nonce). The answer is read by the route's schema; an error
 * answer becomes an {@link ApiError} carrying the node's message.
 *
 * @example
 * const { datanets } = await call(routes.listDatanets, { query: { q: 'medical' } });
 * await call(routes.createDatanet, { body: { name, licence } }, { signer });
 */
export function call<R extends RouteDefinition>(route: R, input: RouteInput<R>, o: Options = {}): Promise<RouteOutput<R>> {
  return client.call(route, input, { ...o, signer: o.signer ?? null });
}

/** The raw response of a (signed) request, whatever its status: for streams. */
export function send<R extends RouteDefinition>(route: R, input: RouteInput<R>, o: Options = {}): Promise<Response> {
  return client.send(route, input, { ...o, signer: o.signer ?? null });
}

/** Formats wei of OPEN for people: up to 6 decimals, no trailing zeros. */
export function open(wei: string | bigint): string {
  const v = BigInt(wei);
  const whole = v / 10n ** 18n, frac = (v % 10n ** 18n).toString().padStart(18, '0').slice(0, 6).replace(/0+$/, '');
  return `${whole.toLocaleString('en')}${frac ? `.${frac}` : ''} OPEN`;
}
