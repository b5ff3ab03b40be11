import cKzg from 'c-kzg';
import { defineKzg, type Kzg } from 'viem';

let kzg: Kzg | undefined;

/**
 * KZG for EIP-4844 blob transactions and blob checks, through the `c-kzg` native binding (C-KZG-4844,
 * built at install against the local Node headers) with the Ethereum mainnet trusted setup it ships.
 * The setup is loaded once per process.
 *
 * @example
 * await walletClient.sendTransaction({ blobs: toBlobs({ data }), kzg: blobKzg(), to });
 */
export function blobKzg(): Kzg {
  if (!kzg) {
    cKzg.loadTrustedSetup(0);
    kzg = defineKzg({
      blobToKzgCommitment: (blob) => cKzg.blobToKzgCommitment(blob),
      computeBlobKzgProof: (blob, commitment) => cKzg.computeBlobKzgProof(blob, commitment),
    });
  }
  return kzg;
}
