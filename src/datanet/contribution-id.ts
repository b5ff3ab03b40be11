import canonicalize from 'canonicalize';
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import type { ContributionRecord } from './datanet-types.ts';

const encoder = new TextEncoder();

/**
 * The canonical bytes of a record: RFC 8785 (JCS) JSON for objects, so that key order and number
 * formatting never change the hash, and the UTF-8 text itself for strings.
 *
 * @example
 * canonicalBytes({ b: 1, a: 'x' }) // bytes of '{"a":"x","b":1}'
 */
export function canonicalBytes(record: ContributionRecord): Uint8Array {
  if (typeof record === 'string') return encoder.encode(record);
  const text = canonicalize(record);
  if (text === undefined) throw new TypeError('record cannot be canonicalised as JSON');
  return encoder.encode(text);
}

/**
 * keccak256 of the record's canonical bytes: the contribution's content hash, and the address of
 * its blob.
 *
 * @example
 * const contentHash = contentHashOf({ question: 'q', answer: 'a' });
 */
export function contentHashOf(record: ContributionRecord): Hex {
  return keccak256(canonicalBytes(record));
}

/**
 * A contribution's id, as DatanetRegistry.contributionId computes it on chain:
 * keccak256(abi.encode(contentHash, contributor)).
 *
 * @example
 * const id = contributionIdOf(contentHashOf(record), '0xabc…');
 */
export function contributionIdOf(contentHash: Hex, contributor: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'address' }], [contentHash, contributor]));
}
