import { bytesToHex, concatHex, isHex, keccak256, size, sliceHex, type Hex } from 'viem';
import { DaCommitmentMismatchError, DaInvalidCommitmentError } from './errors.ts';

/** Alt-DA commitment type 0: `0x00 ‖ keccak256(data)`, 33 bytes; the one a challenge contract can resolve. */
export const KECCAK256_COMMITMENT_TYPE = 0x00;
/** Alt-DA commitment type 1 ("da-service", generic): `0x01 ‖ da_layer_byte ‖ payload`, opened only by its DA layer. */
export const GENERIC_COMMITMENT_TYPE = 0x01;
/** The DA layer byte EigenDA's proxy puts in its generic commitments (`0x01 0x00 ‖ version ‖ certificate`). */
export const EIGENDA_DA_LAYER = 0x00;
/**
 * The DA layer byte of this project's L1-blob (EIP-4844) commitments: `0x01 0x48 ‖ versioned hash…`
 * (32 bytes per blob). Chosen here, in OP's range [0, 127), not coordinated with other DA layers.
 */
export const EIP4844_DA_LAYER = 0x48;

/** An Alt-DA commitment, opened. */
export type DecodedCommitment =
  | { type: 'keccak256'; dataHash: Hex }
  | { type: 'generic'; daLayer: number; payload: Hex };

/**
 * The Alt-DA keccak commitment of `data` (OP Alt-DA commitment type 0): the byte 0x00 followed by
 * keccak256(data), 33 bytes. OP's batcher puts it on L1 after a further version byte 0x01
 * (derivation version 1, the "this is a commitment" marker of its batcher transactions); the DA
 * server API and the challenge contract take it without that byte, as here.
 *
 * @example
 * keccakCommitment(new TextEncoder().encode('hi')); // '0x00' + keccak256('hi')
 */
export function keccakCommitment(data: Uint8Array): Hex {
  return keccakCommitmentOfHash(keccak256(data));
}

/**
 * The Alt-DA keccak commitment of data whose keccak256 is `dataHash` (what DatanetRegistry stores).
 *
 * @example
 * const commitment = keccakCommitmentOfHash(batch.dataHash);
 */
export function keccakCommitmentOfHash(dataHash: Hex): Hex {
  if (!isHex(dataHash, { strict: true }) || size(dataHash) !== 32) throw new DaInvalidCommitmentError(dataHash, 'a data hash is 32 bytes');
  return concatHex(['0x00', dataHash.toLowerCase() as Hex]);
}

/**
 * A generic (type 1) Alt-DA commitment: `0x01 ‖ daLayer ‖ payload`.
 *
 * @example
 * genericCommitment(EIP4844_DA_LAYER, versionedHash);
 */
export function genericCommitment(daLayer: number, payload: Hex): Hex {
  if (!Number.isInteger(daLayer) || daLayer < 0 || daLayer >= 127) throw new DaInvalidCommitmentError(payload, `DA layer byte ${daLayer} outside [0, 127)`);
  if (size(payload) === 0) throw new DaInvalidCommitmentError(payload, 'empty generic payload');
  return concatHex(['0x01', bytesToHex(Uint8Array.of(daLayer)), payload]).toLowerCase() as Hex;
}

/**
 * Opens an encoded Alt-DA commitment (hex or bytes); throws {@link DaInvalidCommitmentError} for an
 * empty one, an unknown type, a keccak commitment that is not 33 bytes, or a generic one without a
 * DA layer byte and payload.
 *
 * @example
 * const c = decodeCommitment(commitment);
 * if (c.type === 'keccak256') console.log(c.dataHash);
 */
export function decodeCommitment(commitment: Hex | Uint8Array): DecodedCommitment {
  const hex = (typeof commitment === 'string' ? commitment : bytesToHex(commitment)).toLowerCase() as Hex;
  if (!isHex(hex, { strict: true }) || hex.length % 2 !== 0) throw new DaInvalidCommitmentError(hex, 'not hex bytes');
  const length = size(hex);
  if (length === 0) throw new DaInvalidCommitmentError(hex, 'empty');
  const type = Number.parseInt(hex.slice(2, 4), 16);
  if (type === KECCAK256_COMMITMENT_TYPE) {
    if (length !== 33) throw new DaInvalidCommitmentError(hex, `a keccak256 commitment is 33 bytes, not ${length}`);
    return { type: 'keccak256', dataHash: sliceHex(hex, 1) };
  }
  if (type === GENERIC_COMMITMENT_TYPE) {
    if (length < 3) throw new DaInvalidCommitmentError(hex, 'a generic commitment needs a DA layer byte and a payload');
    return { type: 'generic', daLayer: Number.parseInt(hex.slice(4, 6), 16), payload: sliceHex(hex, 2) };
  }
  throw new DaInvalidCommitmentError(hex, `unknown commitment type ${type}`);
}

/**
 * Checks `data` against a keccak commitment and returns it; {@link DaCommitmentMismatchError} if it
 * does not hash to it.
 *
 * @example
 * const payload = verifyKeccakCommitment(commitment, await response.bytes());
 */
export function verifyKeccakCommitment(commitment: Hex, data: Uint8Array): Uint8Array {
  const actual = keccakCommitment(data);
  if (actual !== commitment.toLowerCase()) throw new DaCommitmentMismatchError(commitment.toLowerCase() as Hex, actual);
  return data;
}

const URI_PREFIX = 'altda:';

/**
 * The URI an anchored batch names its data by: `altda:` and the hex commitment. Any Alt-DA reader
 * configured for the commitment's kind (its DA layer) can fetch it, as OP nodes do with their DA server.
 *
 * @example
 * daURI(commitment); // 'altda:0x00ab…'
 */
export function daURI(commitment: Hex): string {
  decodeCommitment(commitment);
  return `${URI_PREFIX}${commitment.toLowerCase()}`;
}

/**
 * The commitment a {@link daURI} names, or undefined for any other URI.
 *
 * @example
 * const commitment = commitmentOfDaURI(batch.uri) ?? keccakCommitmentOfHash(dataHash);
 */
export function commitmentOfDaURI(uri: string): Hex | undefined {
  if (!uri.startsWith(URI_PREFIX)) return undefined;
  const hex = uri.slice(URI_PREFIX.length) as Hex;
  try {
    decodeCommitment(hex);
    return hex.toLowerCase() as Hex;
  } catch {
    return undefined;
  }
}
