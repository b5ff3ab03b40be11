import { isBlobHash, type BlobHash } from './blob-hash.ts';

const PREFIX = 'openledger://blob/';

/**
 * The URI of a content-addressed blob, as metadata URIs on chain name them: the blob's hash is the
 * URI, so anyone can fetch it from any node and check it.
 *
 * @example
 * blobURI('0xab…'); // 'openledger://blob/0xab…'
 */
export function blobURI(hash: string): string {
  return `${PREFIX}${hash}`;
}

/**
 * The blob a URI of {@link blobURI}'s form names (lower-cased), or undefined for any other URI.
 *
 * @example
 * blobHashOfURI(onChain.metadataURI); // '0xab…'
 */
export function blobHashOfURI(uri: string): BlobHash | undefined {
  const hash = uri.startsWith(PREFIX) ? uri.slice(PREFIX.length) : undefined;
  return hash !== undefined && isBlobHash(hash) ? (hash.toLowerCase() as BlobHash) : undefined;
}
