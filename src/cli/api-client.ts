import { createReadStream, openAsBlob, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createBlobHasher } from '../store/blobs.ts';
import type { Address, Hex, LocalAccount } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { bodyHashOf, signRequest, type RequestTarget } from '../api/request-signature.ts';
import { connectChain, type ChainClients } from '../chain/clients.ts';
import { protocolContracts, type ProtocolAddresses, type ProtocolContracts } from '../chain/protocol.ts';
import { consentHeaders, contentHashesOf, signConsent } from '../datanet/consent.ts';
import { parseUpload } from '../datanet/intake/parse-upload.ts';

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

/** The node requests are signed for (its chain and account, from `/status`), per API URL. */
const targets = new Map<string, Promise<RequestTarget>>();

/**
 * Calls the node's HTTP API and returns the parsed JSON, signing the request with `account` when
 * given. A 4xx/5xx answer becomes a {@link CliError} carrying the server's message.
 *
 * @example
 * const datanet = await callApi(opts.api, 'POST', '/datanets', { body: definition, account });
 */
export async function callApi<T>(
  api: string,
  method: string,
  path: string,
  options: { body?: unknown; account?: LocalAccount; form?: FormData; bodyHash?: Hex; headers?: Record<string, string> } = {},
): Promise<T> {
  const body = options.form ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}), ...options.headers };
  if (options.account) {
    if (!targets.has(api)) targets.set(api, callApi<{ chain: { id: number }; nodeAccount: Address }>(api, 'GET', '/status').then((s) => ({ chainId: s.chain.id, node: s.nodeAccount })));
    const bodyHash = options.bodyHash ?? bodyHashOf(typeof body === 'string' ? body : undefined);
    Object.assign(headers, await signRequest(options.account, { ...(await targets.get(api)!), method, path, bodyHash }));
  }
  let res: Response;
  try {
    res = await fetch(`${api}${path}`, { method, headers, body });
  } catch (err) {
    throw new CliError(`no node answers at ${api} (${(err as Error).cause ?? (err as Error).message}); start one with \`openledger up\``);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message = (json as { message?: string } | undefined)?.message ?? text;
    throw new CliError(`${method} ${path}: ${res.status} ${message}`);
  }
  return json as T;
}

/**
 * Uploads a file of records to a datanet, signed by `account`: hashes the file (keccak256, streamed),
 * declares the hash in `x-openledger-content-hash`, signs it as the body hash, and streams the file
 * as multipart/form-data.
 *
 * @example
 * const { upload, rejections } = await uploadFile(api, 1, 'qa.jsonl', account);
 */
export async function uploadFile<T>(api: string, datanetId: number, file: string, account: LocalAccount, format?: string): Promise<T> {
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
  const path = `/datanets/${datanetId}/uploads${format ? `?format=${encodeURIComponent(format)}` : ''}`;
  return callApi<T>(api, 'POST', path, { form, account, bodyHash: hash, headers: { 'x-openledger-content-hash': hash, ...(consent ? consentHeaders(consent) : {}) } });
}

/**
 * What a contributor's consent is signed for: the node's chain and its DatanetRegistry (a node that
 * named another registry would only get a signature the registry refuses as evidence).
 *
 * @example
 * const consent = await signConsent(account, { ...(await consentTarget(api)), datanetId: 1, contentHashes });
 */
export async function consentTarget(api: string): Promise<{ chainId: number; registry: Address }> {
  const status = await callApi<{ chain: { id: number }; contracts: ProtocolAddresses }>(api, 'GET', '/status');
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
  const status = await callApi<{ contracts: ProtocolAddresses }>(api, 'GET', '/status');
  const clients = await connectChain(`${api}/chain/rpc`, account);
  return { clients, contracts: protocolContracts(clients, status.contracts) };
}
