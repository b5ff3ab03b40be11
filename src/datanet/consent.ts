import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { Address, Hex, LocalAccount } from 'viem';
import { contentHashOf } from './contribution-id.ts';
import type { ContributionRecord } from './datanet-types.ts';
import type { ParsedRecord } from './intake/types.ts';

/**
 * A contributor's consent to a set of contributions: its EIP-712 signature of
 * `Contributions(datanetId, root)`, where `root` is the Merkle root of the set's content hashes
 * (OpenZeppelin standard leaves of one `bytes32`, so `DatanetRegistry.slashContributor` checks a
 * hash's proof). It is what lets a curator slash the contributor for spam: without it, a curator
 * could slash for content the contributor never sent.
 */
export interface ContributionConsent {
  root: Hex;
  signature: Hex;
}

/** The EIP-712 type of a consent, as `DatanetRegistry.CONTRIBUTIONS_TYPEHASH` declares it. */
export const consentTypes = {
  Contributions: [
    { name: 'datanetId', type: 'uint256' },
    { name: 'root', type: 'bytes32' },
  ],
} as const;

/** The DatanetRegistry's EIP-712 domain on a chain. */
export function consentDomain(chainId: number, registry: Address) {
  return { name: 'OpenLedger DatanetRegistry', version: '1', chainId, verifyingContract: registry } as const;
}

/**
 * The Merkle tree of a set of content hashes (each once, in any order: the library sorts leaves).
 *
 * @example
 * const proof = consentTree(hashes).getProof([hashes[0]]);
 */
export function consentTree(contentHashes: Iterable<Hex>): StandardMerkleTree<[Hex]> {
  const distinct = [...new Set([...contentHashes].map((h) => h.toLowerCase() as Hex))];
  if (distinct.length === 0) throw new Error('a consent needs at least one content hash');
  return StandardMerkleTree.of(distinct.map((h) => [h] as [Hex]), ['bytes32']);
}

/**
 * Signs the consent to the contributions whose content hashes are given, for one datanet.
 *
 * @example
 * const consent = await signConsent(account, { chainId, registry, datanetId: 1, contentHashes: records.map(contentHashOf) });
 */
export async function signConsent(
  account: Pick<LocalAccount, 'signTypedData'>,
  o: { chainId: number; registry: Address; datanetId: number; contentHashes: Iterable<Hex> },
): Promise<ContributionConsent> {
  const root = consentTree(o.contentHashes).root as Hex;
  const signature = await account.signTypedData({
    domain: consentDomain(o.chainId, o.registry),
    types: consentTypes,
    primaryType: 'Contributions',
    message: { datanetId: BigInt(o.datanetId), root },
  });
  return { root, signature };
}

/**
 * The content hashes of the records an upload reads to (its parse errors left out): what a
 * contributor signs for a file, and what the node checks the signature against once it has read it.
 *
 * @example
 * const hashes = await contentHashesOf(readUpload({ filename, stream }, parquet));
 */
export async function contentHashesOf(items: AsyncIterable<ParsedRecord> | Iterable<ParsedRecord>): Promise<Hex[]> {
  const hashes: Hex[] = [];
  for await (const item of items) if ('record' in item) hashes.push(contentHashOf(item.record as ContributionRecord));
  return hashes;
}

/** The headers a signed upload carries its consent in (the file itself is the body). */
export const CONSENT_HEADERS = { root: 'x-openledger-consent-root', signature: 'x-openledger-consent-signature' } as const;

/**
 * The consent as upload headers.
 *
 * @example
 * fetch(url, { method: 'POST', headers: { ...signatureHeaders, ...consentHeaders(consent) }, body: form });
 */
export function consentHeaders(consent: ContributionConsent): Record<string, string> {
  return { [CONSENT_HEADERS.root]: consent.root, [CONSENT_HEADERS.signature]: consent.signature };
}
