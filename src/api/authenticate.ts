import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Address, Hex } from 'viem';
import type { Database } from '../store/database.ts';
import { useRequestNonce } from '../store/request-nonces.ts';
import { jsonDeeperThan, MAX_JSON_DEPTH } from './input-guard.ts';
import { bodyHashOf, MAX_CLOCK_SKEW_SECONDS, verifyRequestSignature, type RequestTarget } from './request-signature.ts';
import { CodedError } from '../util/coded-error.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The raw bytes of a JSON body, kept so that its signature can be checked. */
    rawBody?: Buffer;
  }
}

/**
 * Keeps the raw bytes of JSON bodies (so signatures over them can be verified) while parsing them
 * as usual. A body nested deeper than {@link MAX_JSON_DEPTH} is a 400 `json_too_deep`.
 */
export function keepRawJsonBodies(app: FastifyInstance): void {
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const raw = body as Buffer;
    request.rawBody = raw;
    if (raw.length === 0) return done(null, undefined);
    if (jsonDeeperThan(raw, MAX_JSON_DEPTH)) {
      return done(new CodedError('json_too_deep', `the body nests arrays and objects more than ${MAX_JSON_DEPTH} deep`), undefined);
    }
    try {
      done(null, JSON.parse(raw.toString('utf8')));
    } catch {
      done(new CodedError('malformed_json', 'the body is not valid JSON'), undefined);
    }
  });
}

/**
 * Authenticates a signed request: verifies the EIP-712 signature over its method, path and body
 * hash (the raw JSON body unless `bodyHash` is given, e.g. an uploaded file's hash), refuses a
 * reused nonce, and returns the signer. Throws 401 with a message saying what is wrong.
 *
 * @example
 * const signer = await authenticate(db, { chainId, node }, request);
 */
export async function authenticate(db: Database, target: RequestTarget, request: FastifyRequest, bodyHash?: Hex): Promise<Address> {
  if (bodyHash === undefined && request.body !== undefined && request.rawBody === undefined) {
    throw new CodedError('unsupported_media_type', 'signed requests send their body as application/json');
  }
  const signed = await verifyRequestSignature(request.headers, {
    ...target,
    method: request.method,
    path: request.url,
    bodyHash: bodyHash ?? bodyHashOf(request.rawBody),
  });
  const expiresAt = new Date((signed.timestamp + 2 * MAX_CLOCK_SKEW_SECONDS) * 1000);
  if (!(await useRequestNonce(db, signed.address, signed.nonce, expiresAt))) {
    throw new CodedError('replayed_request', 'this signed request was already used; sign it again with a new nonce');
  }
  return signed.address;
}

/** A 403 for a signer without the role a route needs. */
export function forbidden(signer: Address, role: string): CodedError {
  return new CodedError('forbidden', `${signer} is not ${role}`);
}
