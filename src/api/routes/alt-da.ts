import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hexToBytes, type Hex } from 'viem';
import type { DaBackend } from '../../datanet/da/backend.ts';
import { decodeCommitment, keccakCommitment } from '../../datanet/da/commitment.ts';
import { DaCommitmentMismatchError, DaError, DaInvalidCommitmentError, DaNotFoundError, DaUnsupportedCommitmentError } from '../../datanet/da/errors.ts';
import { isLoopback } from '../../util/allowed-host.ts';

/** Options of {@link altDaRoutes}. */
export interface AltDaRouteOptions {
  /** Where the data lives: the node's blob store (`nodeStoreBackend(ctx.blobs)`). */
  backend: DaBackend;
  /** Path the API is served under (default `/altda`): the DA server URL is the node's URL plus it. */
  prefix?: string;
  /** Largest accepted body in bytes (default 4 MiB; a batch payload is at most about 120 kB). */
  maxSize?: number;
  /** Who may put (default: loopback callers only, the node's own batcher); everyone may get. */
  mayPut?: (request: FastifyRequest) => boolean;
}

/**
 * Serves a DA backend through OP's Alt-DA DA server API, so OP tooling, EigenDA-style clients and
 * other nodes' `altDaHttpBackend` read this node's batch data (and its own batcher may write it):
 * `POST /put/0x<keccak commitment>` (the body must hash to it: 200, else 400), `POST /put` (200 with
 * the keccak commitment as raw bytes, as op-alt-da's da-server answers), `GET /get/0x<commitment>`
 * (200 with the data, 404 unknown, 400 malformed or not a keccak commitment). Bodies are
 * application/octet-stream (another type: 415); errors answer the API's JSON `{ error, message }`.
 *
 * @example
 * altDaRoutes(app, { backend: nodeStoreBackend(ctx.blobs) });
 */
export function altDaRoutes(app: FastifyInstance, options: AltDaRouteOptions): void {
  const { backend } = options;
  const mayPut = options.mayPut ?? ((request: FastifyRequest) => isLoopback(request.ip));
  void app.register(
    async (scope) => {
      // Refused callers are answered before their body is read.
      scope.addHook('onRequest', async (request, reply) => {
        if (request.method === 'POST' && !mayPut(request)) return refuse(reply, 403, 'forbidden', 'this DA server takes puts from its node only');
      });
      // Data comes as application/octet-stream (as the Alt-DA API says), read as bytes and wrapped so
      // that the API's input guards, which walk a parsed body's properties, see nothing to walk (a
      // Buffer has one per byte). Other content types meet the API's own parsers and are refused.
      scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, new RawBody(body as Buffer)));
      const bodyLimit = options.maxSize ?? 4 * 1024 * 1024;

      const put = async (request: FastifyRequest, reply: FastifyReply, commitment: string | undefined) => {
        if (!(request.body instanceof RawBody)) return refuse(reply, 415, 'unsupported_media_type', 'send the data as application/octet-stream');
        const data = request.body.bytes;
        if (data.length === 0) return refuse(reply, 400, 'empty_body', 'nothing to store: the body is empty');
        if (commitment) {
          const given = commitment.toLowerCase() as Hex;
          const decoded = parse(given, reply);
          if (!decoded) return reply;
          if (decoded.type !== 'keccak256') return refuse(reply, 400, 'unsupported_commitment', 'only keccak256 commitments (type 0) are stored here');
          if (keccakCommitment(data) !== given) return refuse(reply, 400, 'commitment_mismatch', `the body commits to ${keccakCommitment(data)}, not ${given}`);
        }
        const stored = await backend.put(data);
        if (commitment) return reply.code(200).send();
        return reply.code(200).type('application/octet-stream').send(Buffer.from(hexToBytes(stored)));
      };
      scope.post('/put', { bodyLimit }, (request, reply) => put(request, reply, undefined));
      scope.post<{ Params: { commitment: string } }>('/put/:commitment', { bodyLimit }, (request, reply) => put(request, reply, request.params.commitment || undefined));
      scope.get<{ Params: { commitment: string } }>('/get/:commitment', async (request, reply) => {
        const commitment = request.params.commitment.toLowerCase() as Hex;
        if (!parse(commitment, reply)) return reply;
        try {
          return reply.code(200).type('application/octet-stream').send(Buffer.from(await backend.get(commitment)));
        } catch (err) {
          if (err instanceof DaNotFoundError) return refuse(reply, 404, 'not_found', `no data for ${commitment}`);
          if (err instanceof DaUnsupportedCommitmentError || err instanceof DaInvalidCommitmentError) return refuse(reply, 400, 'unsupported_commitment', err.message);
          if (err instanceof DaCommitmentMismatchError) return refuse(reply, 500, 'data_damaged', 'the stored copy is damaged');
          throw err;
        }
      });
    },
    { prefix: options.prefix ?? '/altda' },
  );
}

/** A request body's bytes, with no enumerable property. */
class RawBody {
  readonly #bytes: Uint8Array;
  constructor(bytes: Buffer) {
    this.#bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get bytes(): Uint8Array {
    return this.#bytes;
  }
}


/** The commitment opened, or undefined after answering 400. */
function parse(commitment: Hex, reply: FastifyReply): ReturnType<typeof decodeCommitment> | undefined {
  try {
    return decodeCommitment(commitment);
  } catch (err) {
    if (!(err instanceof DaError)) throw err;
    void refuse(reply, 400, 'invalid_commitment', err.message);
    return undefined;
  }
}

/** An error answer in the API's format (`{ error, message }`); Alt-DA clients read only the status. */
function refuse(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).type('application/json').send({ error, message });
}
