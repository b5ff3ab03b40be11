import { parseParquet } from './parquet.ts';
import { readUpload, type Upload, type UploadOptions } from './read-upload.ts';

export type { Upload, UploadOptions, UploadSummary } from './read-upload.ts';

/**
 * Reads an upload on the node, as {@link readUpload} does (format, limits, items, summary), with
 * Parquet copied to a temporary file in `tmpDir` (default: the system's temporary folder).
 *
 * @example
 * const upload = parseUpload({ filename: 'qa.jsonl', stream: request.file, limits: { maxFileBytes: 100 << 20 } });
 * for await (const item of upload) {
 *   if ('record' in item) accept(item.index, item.record);
 *   else reject(item.index, item.error.code, item.error.message);
 * }
 * console.log(upload.summary); // { format: 'jsonl', bytes: 5120, items: 40, records: 39, errors: 1, errorsByCode: { malformed_json: 1 }, done: true }
 */
export function parseUpload(options: UploadOptions & { tmpDir?: string }): Upload {
  const { tmpDir } = options;
  return readUpload(options, (source, limits) => parseParquet(source, { limits, ...(tmpDir !== undefined ? { tmpDir } : {}) }));
}
