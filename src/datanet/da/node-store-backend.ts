import type { Hex } from 'viem';
import { BlobCorruptError, BlobNotFoundError } from '../../store/blob-errors.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { DaBackend } from './backend.ts';
import { decodeCommitment, keccakCommitmentOfHash } from './commitment.ts';
import { DaCommitmentMismatchError, DaNotFoundError, DaUnsupportedCommitmentError } from './errors.ts';

/**
 * The node's own blob store as a DA backend: a blob's address is keccak256 of its bytes, so the
 * Alt-DA keccak commitment is `0x00 ‖ address` and the store's verified reads are the check.
 * Only keccak commitments are served (a generic one is `DaUnsupportedCommitmentError`).
 *
 * @example
 * const da = nodeStoreBackend(ctx.blobs);
 * const commitment = await da.put(payload);
 */
export function nodeStoreBackend(blobs: BlobStore): DaBackend {
  return {
    kind: 'node-store',
    async put(data) {
      const { hash } = await blobs.put(data);
      return keccakCommitmentOfHash(hash);
    },
    async get(commitment: Hex) {
      const c = decodeCommitment(commitment);
      if (c.type !== 'keccak256') throw new DaUnsupportedCommitmentError(commitment, 'the node blob store');
      try {
        return await blobs.get(c.dataHash);
      } catch (err) {
        if (err instanceof BlobNotFoundError) throw new DaNotFoundError(commitment, 'the node blob store');
        if (err instanceof BlobCorruptError) throw new DaCommitmentMismatchError(commitment, keccakCommitmentOfHash(err.actual), 'the stored blob');
        throw err;
      }
    },
  };
}
