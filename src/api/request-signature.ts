import { getAddress, keccak256, recoverTypedDataAddress, toHex, type Address, type Hex, type LocalAccount } from 'viem';
import { CodedError } from '../util/coded-error.ts';

/** A request whose signature headers are missing, malformed, stale or wrong (401). */
export class RequestSignatureError extends CodedError {
  override name = 'RequestSignatureError';
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/**
 * Every state-changing request is signed by the acting wallet as EIP-712 typed data: the method,
 * the path (with its query), the keccak256 of the body (of the file, for uploads), a timestamp and
 * a random nonce, under a domain naming the chain and the node (its account, as the domain's
 * `verifyingContract`: the party that verifies), so a request signed for one node cannot be
 * replayed on another. The server recovers the signer, refuses stale timestamps and reused nonces,
 * then checks the signer's role for the route.
 */
export const requestTypes = {
  Request: [
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodyHash', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/** Which node a request is signed for: the chain and the node's account (`/status` gives both). */
export interface RequestTarget {
  chainId: number;
  node: Address;
}

/** The EIP-712 domain of signed requests to the node `node` on `chainId`. */
export function requestDomain({ chainId, node }: RequestTarget) {
  return { name: 'openledger', version: '2', chainId, verifyingContract: getAddress(node) } as const;
}

/** Header names carrying a request's signature. */
export const SIGNATURE_HEADERS = {
  address: 'x-openledger-address',
  timestamp: 'x-openledger-timestamp',
  nonce: 'x-openledger-nonce',
  signature: 'x-openledger-signature',
} as const;

/** How far a request's timestamp may be from the server's clock. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** The hash a signature covers for `body` (an empty body hashes the empty string). */
export function bodyHashOf(body: Uint8Array | string | undefined): Hex {
  if (body === undefined) return keccak256(new Uint8Array());
  return keccak256(typeof body === 'string' ? new TextEncoder().encode(body) : body);
}

/**
 * Signs a request and returns the headers to send with it.
 *
 * @example
 * const body = JSON.stringify({ name: 'medical-qa' });
 * const headers = await signRequest(account, { chainId, node, method: 'POST', path: '/datanets', bodyHash: bodyHashOf(body) });
 * await fetch(`${api}/datanets`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
 */
export async function signRequest(
  account: Pick<LocalAccount, 'address' | 'signTypedData'>,
  request: RequestTarget & { method: string; path: string; bodyHash: Hex; timestamp?: number; nonce?: Hex },
): Promise<Record<string, string>> {
  const timestamp = request.timestamp ?? Math.floor(Date.now() / 1000);
  const nonce = request.nonce ?? toHex(crypto.getRandomValues(new Uint8Array(32)));
  const signature = await account.signTypedData({
    domain: requestDomain(request),
    types: requestTypes,
    primaryType: 'Request',
    message: { method: request.method.toUpperCase(), path: request.path, bodyHash: request.bodyHash, timestamp: BigInt(timestamp), nonce },
  });
  return {
    [SIGNATURE_HEADERS.address]: account.address,
    [SIGNATURE_HEADERS.timestamp]: String(timestamp),
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: signature,
  };
}

/** A verified signer, with the nonce the caller must mark as used. */
export interface SignedBy {
  address: Address;
  nonce: Hex;
  timestamp: number;
}

/**
 * Checks a request's signature headers and returns the signer. Throws a 401 {@link RequestSignatureError}
 * naming what is wrong: missing or malformed headers, a timestamp outside the allowed skew, or a
 * signature that does not recover to the claimed address.
 *
 * @example
 * const { address } = await verifyRequestSignature(request.headers, { chainId, node, method: 'POST', path: '/datanets', bodyHash });
 */
export async function verifyRequestSignature(
  headers: Record<string, string | string[] | undefined>,
  request: RequestTarget & { method: string; path: string; bodyHash: Hex; now?: number },
): Promise<SignedBy> {
  const get = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const address = get(SIGNATURE_HEADERS.address);
  const timestampText = get(SIGNATURE_HEADERS.timestamp);
  const nonce = get(SIGNATURE_HEADERS.nonce);
  const signature = get(SIGNATURE_HEADERS.signature);
  if (!address || !timestampText || !nonce || !signature) {
    throw new RequestSignatureError('unsigned_request', `this request must be signed: send ${Object.values(SIGNATURE_HEADERS).join(', ')}`);
  }
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new RequestSignatureError('bad_signature', `${SIGNATURE_HEADERS.address} is not an address`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(nonce)) throw new RequestSignatureError('bad_signature', `${SIGNATURE_HEADERS.nonce} must be 32 bytes of hex`);
  if (!/^0x[0-9a-fA-F]+$/.test(signature)) throw new RequestSignatureError('bad_signature', `${SIGNATURE_HEADERS.signature} is not hex`);
  if (!/^\d{1,12}$/.test(timestampText)) throw new RequestSignatureError('bad_signature', `${SIGNATURE_HEADERS.timestamp} must be unix seconds`);
  const timestamp = Number(timestampText);
  const now = request.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > MAX_CLOCK_SKEW_SECONDS) {
    throw new RequestSignatureError('stale_signature', `the signed timestamp is ${now - timestamp} s from the server's clock (at most ${MAX_CLOCK_SKEW_SECONDS} s)`);
  }
  let recovered: Address;
  try {
    recovered = await recoverTypedDataAddress({
      domain: requestDomain(request),
      types: requestTypes,
      primaryType: 'Request',
      message: { method: request.method.toUpperCase(), path: request.path, bodyHash: request.bodyHash, timestamp: BigInt(timestamp), nonce: nonce as Hex },
      signature: signature as Hex,
    });
  } catch {
    throw new RequestSignatureError('bad_signature', 'the signature is malformed');
  }
  if (recovered.toLowerCase() !== address.toLowerCase()) {
    throw new RequestSignatureError('bad_signature', 'the signature does not match the request and address (check the method, path, body, timestamp, nonce, chain id and the node it is signed for)');
  }
  return { address: recovered, nonce: nonce as Hex, timestamp };
}
