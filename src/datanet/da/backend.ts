import type { Hex } from 'viem';

/**
 * Somewhere a batch's DA payload is published and fetched back by an Alt-DA commitment (see
 * commitment.ts): the node's blob store, a DA server speaking OP's Alt-DA HTTP API (op-alt-da's
 * da-server, EigenDA's proxy, another node), or L1 blobs (EIP-4844).
 *
 * `get` never returns bytes that do not match the commitment: a keccak commitment is checked by
 * hashing; an L1-blob commitment by the blobs' KZG commitments against their versioned hashes; a
 * generic commitment of another DA layer (EigenDA's certificate) only by that layer's server, so
 * callers that know the batch's anchored data hash check it as well (`fetchBatchData` does).
 * Errors are typed (errors.ts): `DaNotFoundError`, `DaCommitmentMismatchError`,
 * `DaUnsupportedCommitmentError`, `DaInvalidCommitmentError`, `DaServerError`.
 */
export interface DaBackend {
  /** What the backend is, for logs and records: 'node-store', 'alt-da-http', 'l1-blobs'. */
  readonly kind: string;
  /** Publishes `data` and returns its encoded Alt-DA commitment (type byte first). */
  put(data: Uint8Array): Promise<Hex>;
  /** The data of `commitment`, verified as above. */
  get(commitment: Hex): Promise<Uint8Array>;
}
