import { createRequire } from 'node:module';
import { defineKzg, type Kzg } from 'viem';
import { ChainError } from './errors.ts';

/** The part of the `c-kzg` binding this uses. */
interface CKzg {
  loadTrustedSetup(precompute: number): void;
  blobToKzgCommitment(blob: Uint8Array): Uint8Array;
  computeBlobKzgProof(blob: Uint8Array, commitment: Uint8Array): Uint8Array;
}

/** KZG is not available here: the optional `c-kzg` native binding did not build at install. */
export class KzgUnavailableError extends ChainError {
  override name = 'KzgUnavailableError';
}

let kzg: Kzg | undefined;
let unavailable: string | undefined;

/**
 * Why KZG cannot be used in this install (the optional `c-kzg` binding failed to build or load), or
 * undefined when it can.
 *
 * @example
 * if (kzgUnavailable()) console.log(`no blobs: ${kzgUnavailable()}`);
 */
export function kzgUnavailable(): string | undefined {
  try {
    blobKzg();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * KZG for EIP-4844 blob transactions and blob checks, through the `c-kzg` native binding (C-KZG-4844,
 * an optional dependency built at install against the local Node headers) with the Ethereum mainnet
 * trusted setup it ships. The setup is loaded once per process; without the binding this throws
 * {@link KzgUnavailableError}, and only the L1-blob DA backend needs it.
 *
 * @example
 * await walletClient.sendTransaction({ blobs: toBlobs({ data }), kzg: blobKzg(), to });
 */
export function blobKzg(): Kzg {
  if (kzg) return kzg;
  if (unavailable) throw new KzgUnavailableError(unavailable);
  let cKzg: CKzg;
  try {
    cKzg = createRequire(import.meta.url)('c-kzg') as CKzg;
  } catch (err) {
    unavailable = `the optional c-kzg binding is not installed or did not build (${(err as Error).message.split('\n')[0]}): blobs need it (a C compiler and Node's headers at npm install)`;
    throw new KzgUnavailableError(unavailable);
  }
  cKzg.loadTrustedSetup(0);
  kzg = defineKzg({
    blobToKzgCommitment: (blob) => cKzg.blobToKzgCommitment(blob),
    computeBlobKzgProof: (blob, commitment) => cKzg.computeBlobKzgProof(blob, commitment),
  });
  return kzg;
}
