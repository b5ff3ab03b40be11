import { BlobHashMismatchError, BlobTooLargeError } from './blob-errors.ts';
import type { BlobHash } from './blob-hash.ts';
import type { BlobStore } from './blob-store.ts';
import { CodedError } from '../util/coded-error.ts';
import { errorReason } from '../util/error-reason.ts';

/** No peer could serve a blob whole and with the right hash: which peers were asked, and what each did. */
export class BlobUnavailableError extends CodedError {
  override name = 'BlobUnavailableError';
}

/** The most bytes a fetched blob may have (an adapter of a few-billion-parameter model is well under it). */
export const MAX_FETCHED_BLOB_BYTES = 4 * 1024 * 1024 * 1024;

/**
 * Brings a blob into `blobs` from the first of `peers` (other nodes' API URLs, each serving
 * `GET /blobs/:hash`) that has it, checked against its hash as it streams in: a peer that serves
 * other bytes (tampered, truncated, too large) is skipped and nothing of its answer is kept. A blob
 * already here is not fetched. Throws {@link BlobUnavailableError} naming each peer's failure when
 * none serves it.
 *
 * @example
 * await fetchBlob(blobs, ['https://node-a.example'], adapterHash);
 */
export async function fetchBlob(blobs: BlobStore, peers: readonly string[], hash: BlobHash, o: { maxSize?: number; timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<void> {
  if (await blobs.has(hash)) return;
  const failures: string[] = [];
  for (const peer of peers) {
    try {
      // a peer is another operator: no redirects elsewhere, and not forever (the size is bounded by the put)
      const res = await (o.fetch ?? fetch)(`${peer.replace(/\/+$/, '')}/blobs/${hash}`, { redirect: 'error', signal: AbortSignal.timeout(o.timeoutMs ?? 30 * 60_000) });
      if (!res.ok || !res.body) {
        failures.push(`${peer}: ${res.status} ${res.statusText}`);
        await res.body?.cancel();
        continue;
      }
      await blobs.put(res.body as AsyncIterable<Uint8Array>, { expectedHash: hash, maxSize: o.maxSize ?? MAX_FETCHED_BLOB_BYTES });
      return;
    } catch (err) {
      if (err instanceof BlobHashMismatchError) failures.push(`${peer}: served bytes that do not hash to ${hash} (refused)`);
      else if (err instanceof BlobTooLargeError) failures.push(`${peer}: served more than ${o.maxSize ?? MAX_FETCHED_BLOB_BYTES} bytes (refused)`);
      else failures.push(`${peer}: ${errorReason(err)}`);
    }
  }
  throw new BlobUnavailableError('blob_unavailable', `no peer served blob ${hash} with its hash${failures.length ? `: ${failures.join('; ')}` : ' (no peers)'}`, { details: { failures } });
}
