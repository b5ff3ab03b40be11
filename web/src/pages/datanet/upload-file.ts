import type { Hex } from 'viem';
import type { Signer } from '../../account.tsx';
import { ApiError, nodeTarget } from '../../api.ts';
import { signRequest } from '../../../../src/api/request-signature.ts';
import { createBlobHasher } from '../../../../src/store/blob-hash.ts';
import { consentHeaders } from '../../../../src/datanet/consent.ts';
import { signRecords } from './sign-records.ts';
import type { UploadResponse } from './types.ts';

/** Formats the node reads; `auto` lets it tell from the file name. */
export const UPLOAD_FORMATS = ['auto', 'jsonl', 'csv', 'tsv', 'text', 'parquet'] as const;
export type UploadFormat = (typeof UPLOAD_FORMATS)[number];

/** File extensions the node recognises (src/datanet/intake/detect-format.ts). */
const EXTENSIONS: Record<string, Exclude<UploadFormat, 'auto'>> = {
  jsonl: 'jsonl', ndjson: 'jsonl', jsonlines: 'jsonl', csv: 'csv', tsv: 'tsv', tab: 'tsv',
  txt: 'text', text: 'text', md: 'text', parquet: 'parquet', pq: 'parquet',
};

/** What the file picker offers. */
export const ACCEPT = Object.keys(EXTENSIONS).map((e) => `.${e}`).join(',');

/** Largest file the node takes (src/api/routes/datanets.ts MAX_UPLOAD_BYTES). */
export const MAX_UPLOAD_BYTES = 256 * 1024 * 1024;

/** The format a file's name says, if the node knows it. */
export function formatOfName(name: string): Exclude<UploadFormat, 'auto'> | undefined {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? EXTENSIONS[name.slice(dot + 1).toLowerCase()] : undefined;
}

/** Why a file cannot be sent as it is, or null. */
export function fileProblem(file: File, format: UploadFormat): string | null {
  if (file.size === 0) return `${file.name} is empty`;
  if (file.size > MAX_UPLOAD_BYTES) return `${file.name} is ${(file.size / 2 ** 20).toFixed(0)} MiB; files are limited to ${MAX_UPLOAD_BYTES / 2 ** 20} MiB`;
  if (format === 'auto' && !formatOfName(file.name)) {
    return `cannot tell the format of "${file.name}" from its name: choose one (JSON Lines, CSV, TSV, text or Parquet; a .json file must be converted to JSON Lines, one object per line)`;
  }
  return null;
}

/** Where an upload is. */
export type UploadPhase =
  | { phase: 'hashing'; done: number; total: number }
  | { phase: 'reading'; records: number }
  | { phase: 'signing' }
  | { phase: 'sending'; done: number; total: number }
  | { phase: 'validating' };

/** keccak256 of a file's bytes, read in chunks (the node's blob address of it). */
export async function hashFile(file: File, onProgress: (done: number) => void, signal?: AbortSignal): Promise<Hex> {
  const hasher = await createBlobHasher();
  const reader = file.stream().getReader();
  let done = 0;
  for (;;) {
    if (signal?.aborted) {
      await reader.cancel();
      throw new DOMException('cancelled', 'AbortError');
    }
    const { value, done: end } = await reader.read();
    if (end) break;
    hasher.update(value);
    done += value.byteLength;
    onProgress(done);
  }
  return hasher.digest() as Hex;
}

/**
 * Uploads a file of records to a datanet as the CLI's `uploadFile` does (src/cli/api-client.ts):
 * the keccak256 of the file is declared in `x-openledger-content-hash` and signed as the body hash,
 * the records read from it are signed as the contributor's consent (see sign-records.ts), and the
 * file goes as multipart/form-data. Reports each phase (with bytes for hashing and
 * sending); resolves with the node's answer once it has validated every record.
 *
 * @example
 * const { upload } = await uploadFile({ datanetId: 1, file, signer, onPhase: setPhase });
 */
export async function uploadFile(o: { datanetId: number; file: File; signer: Signer; format?: UploadFormat; onPhase: (p: UploadPhase) => void; signal?: AbortSignal }): Promise<UploadResponse> {
  const { file, onPhase, signal } = o;
  onPhase({ phase: 'hashing', done: 0, total: file.size });
  const hash = await hashFile(file, (done) => onPhase({ phase: 'hashing', done, total: file.size }), signal);
  onPhase({ phase: 'reading', records: 0 });
  const format = o.format && o.format !== 'auto' ? o.format : undefined;
  const consent = await signRecords({ file, datanetId: o.datanetId, signer: o.signer, ...(format ? { format } : {}), onRecords: (records) => onPhase({ phase: 'reading', records }), ...(signal ? { signal } : {}) });
  onPhase({ phase: 'signing' });
  const path = `/datanets/${o.datanetId}/uploads${format ? `?format=${encodeURIComponent(format)}` : ''}`;
  const headers = { ...(await signRequest(o.signer, { ...(await nodeTarget()), method: 'POST', path, bodyHash: hash })), 'x-openledger-content-hash': hash, ...(consent ? consentHeaders(consent) : {}) };
  const form = new FormData();
  form.append('file', file, file.name);
  if (signal?.aborted) throw new DOMException('cancelled', 'AbortError');

  // XMLHttpRequest rather than fetch: it reports how much of the body has been sent
  return new Promise<UploadResponse>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => {
      onPhase(e.loaded >= e.total ? { phase: 'validating' } : { phase: 'sending', done: e.loaded, total: e.total });
    };
    xhr.upload.onload = () => onPhase({ phase: 'validating' });
    xhr.onload = () => {
      let json: unknown;
      try {
        json = JSON.parse(xhr.responseText);
      } catch {
        json = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300 && json) return resolve(json as UploadResponse);
      const e = (json ?? {}) as { error?: string; message?: string };
      reject(new ApiError(xhr.status, e.error ?? String(xhr.status), e.message ?? (xhr.responseText || `the node answered ${xhr.status}`)));
    };
    xhr.onerror = () => reject(new Error('the upload did not reach the node (network error)'));
    xhr.onabort = () => reject(new DOMException('cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}
