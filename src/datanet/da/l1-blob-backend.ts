import { bytesToHex, commitmentToVersionedHash, concatHex, fromBlobs, hexToBytes, size, sliceHex, toBlobs, type Address, type Hex } from 'viem';
import type { ChainClients } from '../../chain/clients.ts';
import { blobKzg } from '../../chain/kzg.ts';
import type { DaBackend } from './backend.ts';
import { EIP4844_DA_LAYER, decodeCommitment, genericCommitment } from './commitment.ts';
import { DaCommitmentMismatchError, DaError, DaNotFoundError, DaTooLargeError, DaUnsupportedCommitmentError } from './errors.ts';

/** Blobs one put sends at most, in its one transaction: EIP-4844's six (viem's blob encoder's limit too). */
export const MAX_BLOBS_PER_PUT = 6;
/**
 * Data bytes one put takes at most: viem's encoding keeps 31 data bytes of each 32-byte field
 * element (the first byte is zero, so every element is below the field modulus) and ends with 0x80.
 */
export const MAX_BYTES_PER_PUT = MAX_BLOBS_PER_PUT * 4096 * 31 - 1;

/** Options of {@link l1BlobBackend}. */
export interface L1BlobOptions {
  /** Clients of the L1 (a chain that takes type-3 transactions: an OP Stack L2 does not), signing as the poster. */
  clients: ChainClients;
  /** Recipient of the blob transactions (default: the poster itself). */
  to?: Address;
  /** Most wei per blob gas to pay (default: twice the current blob base fee, to survive its rise). */
  maxFeePerBlobGas?: bigint;
  /**
   * Reads a blob by its versioned hash, as 0x hex (null when the node has none). Default: anvil's
   * `anvil_getBlobByHash`. A production L1 serves blobs from its consensus client's beacon API
   * (`/eth/v1/beacon/blob_sidecars/{block}`) for about 18 days; that reader is not built here.
   */
  readBlob?: (versionedHash: Hex) => Promise<Hex | null>;
}

/**
 * L1 blobs (EIP-4844) as a DA backend: `put` sends the data as the blobs of one type-3 transaction
 * (viem's blob encoding, KZG by c-kzg) and returns the generic Alt-DA commitment
 * `0x01 ‖ 0x48 ‖ versioned hash…` (32 bytes per blob); `get` reads each blob, checks that its KZG
 * commitment gives the versioned hash (so the bytes are the ones the L1 committed to), and decodes
 * the data.
 *
 * @example
 * const da = l1BlobBackend({ clients: l1 });
 * const commitment = await da.put(payload);
 */
export function l1BlobBackend(options: L1BlobOptions): DaBackend {
  const { publicClient, walletClient, account } = options.clients;
  const readBlob =
    options.readBlob ??
    ((versionedHash: Hex) => publicClient.request({ method: 'anvil_getBlobByHash', params: [versionedHash] } as never) as Promise<Hex | null>);
  return {
    kind: 'l1-blobs',
    async put(data) {
      if (data.length > MAX_BYTES_PER_PUT) throw new DaTooLargeError(data.length, MAX_BYTES_PER_PUT, 'bytes');
      const blobs = toBlobs({ data, to: 'hex' });
      const maxFeePerBlobGas = options.maxFeePerBlobGas ?? 2n * (await publicClient.getBlobBaseFee());
      const hash = await walletClient.sendTransaction({ account, chain: walletClient.chain, blobs, kzg: blobKzg(), maxFeePerBlobGas, to: options.to ?? account.address });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new DaError(`blob transaction ${hash} reverted`);
      const tx = await publicClient.getTransaction({ hash });
      const versionedHashes = tx.blobVersionedHashes ?? [];
      if (versionedHashes.length !== blobs.length) throw new DaError(`blob transaction ${hash} carries ${versionedHashes.length} blobs, not ${blobs.length}`);
      return genericCommitment(EIP4844_DA_LAYER, concatHex(versionedHashes));
    },
    async get(commitment) {
      const c = decodeCommitment(commitment);
      if (c.type !== 'generic' || c.daLayer !== EIP4844_DA_LAYER || size(c.payload) % 32 !== 0) throw new DaUnsupportedCommitmentError(commitment, 'the L1 blob backend');
      const blobs: Hex[] = [];
      for (let at = 0; at < size(c.payload); at += 32) {
        const versionedHash = sliceHex(c.payload, at, at + 32);
        const blob = await readBlob(versionedHash);
        if (!blob) throw new DaNotFoundError(commitment, `L1 blob ${versionedHash}`);
        const actual = commitmentToVersionedHash({ commitment: bytesToHex(blobKzg().blobToKzgCommitment(hexToBytes(blob))) });
        if (actual !== versionedHash.toLowerCase()) throw new DaCommitmentMismatchError(versionedHash, actual, 'the blob');
        blobs.push(blob);
      }
      return fromBlobs({ blobs, to: 'bytes' });
    },
  };
}
