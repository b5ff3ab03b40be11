import { createReadStream, openAsBlob, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createBlobHasher } from '../store/blobs.ts';
import type { Address, LocalAccount } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { ApiError, apiErrorOf, createApiClient, type ApiClient, type CallOptions } from '../api/contract/client.ts';
import { CONTENT_HASH_HEADER } from '../api/contract/datanets.ts';
import { routes, type RouteDefinition, type RouteInput, type RouteOutput } from '../api/contract/index.ts';
import { pathOf } from '../api/contract/route.ts';
import { connectChain, type ChainClients } from '../chain/clients.ts';
import { protocolContracts, type ProtocolContracts } from '../chain/protocol.ts';
import { consentHeaders, contentHashesOf, signConsent } from '../datanet/consent.ts';
import { parseUpload } from '../datanet/intake/parse-upload.ts';
import type { IntakeFormat } from '../datanet/intake/types.ts';

/** An error whose message is all the user needs. */
export class CliError extends Error {
  override name = 'CliError';
}

/** Options every command that talks to a node takes. */
export interface NodeOptions {
  api: string;
  key?: string;
  account?: string;
  dataDir?: string;
}

/**
 * The account a command signs with: `--key` (or `OPENLEDGER_KEY`), else dev account `--account`
 * (default 0) of the embedded chain's mnemonic in `--data-dir`.
 */
export function signingAccount(opts: NodeOptions): LocalAccount {
  if (opts.key) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(opts.key)) throw new CliError('--key must be a 32-byte hex private key (0x + 64 hex digits)');
    return privateKeyToAccount(opts.key as `0x${string}`);
  }
  const index = Number(opts.account ?? 0);
  if (!Number.isInteger(index) || index < 0) throw new CliError('--account must be a dev account number (0, 1, 2, …)');
  const file = join(opts.dataDir ?? '.openledger', 'chain', 'mnemonic');
  let mnemonic: string;
  try {
    mnemonic = readFileSync(file, 'utf8').trim();
  } catch {
    throw new CliError(`no signing key: pass --key (or set OPENLEDGER_KEY), or --data-dir of an embedded chain (${file} not found)`);
  }
  return mnemonicToAccount(mnemonic, { addressIndex: index });
}

/** One client per API URL: it keeps the node's chain and account signed requests are for (from `/status`). */
const clients = new Map<string, ApiClient>();

/**
 * Calls a route of the node's API through the typed client (src/api/contract/client.ts), signing
 * with `account` when the route needs it, and returns the answer as the route's schema reads it.
 * An error answer becomes a {@link CliError} carrying the node's message.
 *
 * @example
 * const datanet = await callRoute(opts.api, routes.createDatanet, { body: definition }, { signer: account });
 */
export async function callRoute<R extends RouteDefinition>(api: string, route: R, input: RouteInput<R>, options: CallOptions = {}): Promise<RouteOutput<R>> {
  try {
    return await clientOf(api).call(route, input, options);
  } catch (err) {
    throw cliErrorOf(err, route, input);
  }
}

/**
 * Calls a route whose answer is a file (an adapter, a blob) and returns its bytes; an error answer
 * becomes a {@link CliError} carrying the node's message.
 *
 * @example
 * const bytes = await fetchRoute(api, routes.getBlob, { params: { hash } });
 */
export async function fetchRoute<R extends RouteDefinition>(api: string, route: R, input: RouteInput<R>): Promise<Uint8Array> {
  try {
    const res = await clientOf(api).send(route, input);
    if (!res.ok) throw await apiErrorOf(res);
    return new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw cliErrorOf(err, route, input);
  }
}

function clientOf(api: string): ApiClient {
  let client = clients.get(api);
  if (!client) clients.set(api, (client = createApiClient({ baseUrl: api, signer: null })));
  return client;
}

/** An API error as the CLI shows it (the route, the status and the node's message); other errors as they are. */
function cliErrorOf(err: unknown, route: RouteDefinition, input: unknown): unknown {
  if (!(err instanceof ApiError)) return err;
  if (err.status === 0) return new CliError(`${err.message}; start one with \`openledger up\``);
  return new CliError(`${route.method} ${pathOf(route, (input as { params?: Record<string, unknown> }).params)}: ${err.status} ${err.message}`);
}

/**
 * Uploads a file of records to a datanet, signed by `account`: hashes the file (keccak256, streamed),
 * declares the hash in `x-openledger-content-hash`, signs it as the body hash, and streams the file
 * as multipart/form-data.
 *
 * @example
 * const { upload, rejections } = await uploadFile(api, 1, 'qa.jsonl', account);
 */
export async function uploadFile(api: string, datanetId: number, file: string, account: LocalAccount, format?: IntakeFormat): Promise<RouteOutput<typeof routes.uploadRecords>> {
  const hasher = await createBlobHasher();
  try {
    for await (const chunk of createReadStream(file)) hasher.update(chunk as Uint8Array);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const hash = hasher.digest();
  // the contributor signs the records the node will read from the file, read here the same way
  const contentHashes = await contentHashesOf(parseUpload({ filename: basename(file), stream: createReadStream(file), ...(format ? { format } : {}) }));
  const consent = contentHashes.length > 0 ? await signConsent(account, { ...(await consentTarget(api)), datanetId, contentHashes }) : undefined;
  const form = new FormData();
  form.append('file', await openAsBlob(file), basename(file));
  return callRoute(api, routes.uploadRecords, { params: { id: datanetId }, query: format ? { format } : {} }, { form, signer: account, bodyHash: hash, headers: { [CONTENT_HASH_HEADER]: hash, ...(consent ? consentHeaders(consent) : {}) } });
}

/**
 * What a contributor's consent is signed for: the node's chain and its DatanetRegistry (a node that
 * named another registry would only get a signature the registry refuses as evidence).
 *
 * @example
 * const consent = await signConsent(account, { ...(await consentTarget(api)), datanetId: 1, contentHashes });
 */
export async function consentTarget(api: string): Promise<{ chainId: number; registry: Address }> {
  const status = await callRoute(api, routes.getStatus, {});
  return { chainId: status.chain.id, registry: status.contracts.datanetRegistry };
}

/**
 * The node's chain as `account`, with the protocol's contracts: through the node's JSON-RPC relay
 * (`<api>/chain/rpc`: reads, estimates and signed transactions; signing stays here), so the chain's
 * own URL — which may carry a provider's key — never leaves the node.
 *
 * @example
 * const { clients, contracts } = await chainFor('http://127.0.0.1:8080', account);
 */
export async function chainFor(api: string, account: LocalAccount): Promise<{ clients: ChainClients; contracts: ProtocolContracts }> {
  const status = await callRoute(api, routes.getStatus, {});
  const clients = await connectChain(`${api}/chain/rpc`, account);
  return { clients, contracts: protocolContracts(clients, status.contracts) };
}
