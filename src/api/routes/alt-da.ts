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
  /** Largest accepted body in bytes (default 16 MiB). */
  maxSize?: number;
  /** Who may put (default: loopback callers only, the node's own batcher); everyone may get. */
  mayPut?: (request: FastifyRequest) => boolean;
}

/**
 * Serves a DA backend through OP's Alt-DA DA server API, so OP tooling, EigenDA-style clients and
 * other nodes' `altDaHttpBackend` read this node's batch data (and its own batcher may write it):
 * `POST /put/0x<keccak commitment>` (the body must hash to it: 200, else 400), `POST /put` (200 with
 * the keccak commitment as raw bytes, as op-alt-da's da-server answers), `GET /get/0x<commitment>`
 * (200 with the data, 404 unknown, 400 malformed or not a keccak commitment). Bodies are read as
 * bytes whatever their content type.
 *
 * @example
 * altDaRoutes(app, { backend: nodeStoreBackend(ctx.blobs) });
 */
export function altDaRoutes(app: FastifyInstance, options: AltDaRouteOptions): void {
  const { backend } = options;
  const mayPut = options.mayPut ?? ((request: FastifyRequest) => isLoopback(request.ip));
  void app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxSize ?? 16 * 1024 * 1024 }, (_request, body, done) => done(null, body));

      const put = async (request: FastifyRequest, reply: FastifyReply, commitment: string | undefined) => {
        if (!mayPut(request)) return reply.code(403).type('text/plain').send('this DA server takes puts from its node only');
        const data = bodyOf(request);
        if (data.length === 0) return reply.code(400).type('text/plain').send('empty body');
        if (commitment) {
          const given = commitment.toLowerCase() as Hex;
          const decoded = parse(given, reply);
          if (!decoded) return reply;
          if (decoded.type !== 'keccak256') return reply.code(400).type('text/plain').send('only keccak256 commitments (type 0) are stored here');
          if (keccakCommitment(data) !== given) return reply.code(400).type('text/plain').send(`the body commits to ${keccakCommitment(data)}, not ${given}`);
        }
        const stored = await backend.put(data);
        if (commitment) return reply.code(200).send();
        return reply.code(200).type('application/octet-stream').send(Buffer.from(hexToBytes(stored)));
      };
      scope.post('/put', (request, reply) => put(request, reply, undefined));
      scope.post<{ Params: { commitment: string } }>('/put/:commitment', (request, reply) => put(request, reply, request.params.commitment || undefined));
      scope.get<{ Params: { commitment: string } }>('/get/:commitment', async (request, reply) => {
        const commitment = request.params.commitment.toLowerCase() as Hex;
        if (!parse(commitment, reply)) return reply;
        try {
          return reply.code(200).type('application/octet-stream').send(Buffer.from(await backend.get(commitment)));
        } catch (err) {
          if (err instanceof DaNotFoundError) return reply.code(404).type('text/plain').send('not found');
          if (err instanceof DaUnsupportedCommitmentError || err instanceof DaInvalidCommitmentError) return reply.code(400).type('text/plain').send(err.message);
          if (err instanceof DaCommitmentMismatchError) return reply.code(500).type('text/plain').send('the stored copy is damaged');
          throw err;
        }
      });
    },
    { prefix: options.prefix ?? '/altda' },
  );
}

function bodyOf(request: FastifyRequest): Uint8Array {
  return Buffer.isBuffer(request.body) ? new Uint8Array(request.body.buffer, request.body.byteOffset, request.body.byteLength) : new Uint8Array();
}

/** The commitment opened, or undefined after answering 400. */
function parse(commitment: Hex, reply: FastifyReply): ReturnType<typeof decodeCommitment> | undefined {
  try {
    return decodeCommitment(commitment);
  } catch (err) {
    if (!(err instanceof DaError)) throw err;
    void reply.code(400).type('text/plain').send(err.message);
    return undefined;
  }
}
