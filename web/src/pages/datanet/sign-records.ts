import type { Hex } from 'viem';
import type { Signer } from '../../account.tsx';
import { call, routes } from '../../api.ts';
import { contentHashesOf, signConsent, type ContributionConsent } from '../../../../src/datanet/consent.ts';
import { readParquetRows } from '../../../../src/datanet/intake/parquet-rows.ts';
import { readUpload, type ParquetReader } from '../../../../src/datanet/intake/read-upload.ts';
import type { IntakeFormat } from '../../../../src/datanet/intake/types.ts';

/** Parquet in the browser: the (size-limited) bytes gathered into a Blob, read at any offset. */
const blobParquet: ParquetReader = async function* (source, limits) {
  const parts: Uint8Array[] = [];
  for await (const chunk of source) parts.push(chunk);
  const blob = new Blob(parts as BlobPart[]);
  yield* readParquetRows({ byteLength: blob.size, slice: (start, end) => blob.slice(start, end).arrayBuffer() }, limits);
};

/** A file's bytes in chunks, as the node reads an upload. */
async function* chunksOf(file: File, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const reader = file.stream().getReader();
  for (;;) {
    if (signal?.aborted) {
      await reader.cancel();
      throw new DOMException('cancelled', 'AbortError');
    }
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

/**
 * The content hashes of a file's records, read here as the node will read them (the same parsers,
 * Parquet from a Blob instead of a temporary file), counting records as they go.
 *
 * @example
 * const hashes = await fileRecordHashes({ file, onRecords: (n) => setRead(n) });
 */
export async function fileRecordHashes(o: { file: File; format?: IntakeFormat; onRecords?: (n: number) => void; signal?: AbortSignal }): Promise<Hex[]> {
  const upload = readUpload({ filename: o.file.name, stream: chunksOf(o.file, o.signal), ...(o.format ? { format: o.format } : {}) }, blobParquet);
  const counted = (async function* () {
    let n = 0;
    for await (const item of upload) {
      if ('record' in item && ++n % 1000 === 0) o.onRecords?.(n);
      yield item;
    }
    o.onRecords?.(n);
  })();
  return contentHashesOf(counted);
}

/**
 * The contributor's consent to a file's records: the content hashes of its records
 * ({@link fileRecordHashes}) go in a Merkle tree, and the signer signs `Contributions(datanetId,
 * root)` for the node's DatanetRegistry. That signature is what lets a curator slash the
 * contributor for spam it sent, and only for that. Undefined when the file holds no record (the
 * node then rejects it as a whole anyway).
 *
 * @example
 * const consent = await signRecords({ file, datanetId: 1, signer, onRecords: (n) => setRead(n) });
 */
export async function signRecords(o: { file: File; format?: IntakeFormat; datanetId: number; signer: Signer; onRecords?: (n: number) => void; signal?: AbortSignal }): Promise<ContributionConsent | undefined> {
  const contentHashes = await fileRecordHashes(o);
  if (contentHashes.length === 0) return undefined;
  const status = await call(routes.getStatus, {});
  return signConsent(o.signer, { chainId: status.chain.id, registry: status.contracts.datanetRegistry, datanetId: o.datanetId, contentHashes });
}
