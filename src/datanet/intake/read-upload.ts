import { limitBytes } from './byte-source.ts';
import { parseCsv } from './csv.ts';
import { detectFormat, type FormatHints } from './detect-format.ts';
import { IntakeError } from './errors.ts';
import { parseJsonl } from './jsonl.ts';
import { parseText } from './text.ts';
import { resolveLimits, type ByteSource, type IntakeErrorCode, type IntakeFormat, type IntakeLimits, type ParsedRecord, type ResolvedLimits } from './types.ts';

/** An upload to read: its bytes, what tells its format, and the limits. */
export interface UploadOptions extends FormatHints {
  stream: ByteSource;
  limits?: IntakeLimits;
  /** JSONL: accept lines that are JSON strings as text records (default false). */
  allowStrings?: boolean;
  /** Text: one record per line (default) or per paragraph. */
  split?: 'line' | 'paragraph';
  /** CSV: the field delimiter (default `,`; TSV always uses a tab). */
  delimiter?: string;
}

/**
 * Reads Parquet from the upload's (size-limited) bytes: it needs random access, so each place
 * that reads uploads keeps the bytes its own way (the node a temporary file, a browser a `Blob`).
 */
export type ParquetReader = (source: AsyncIterable<Uint8Array>, limits: ResolvedLimits) => AsyncIterable<ParsedRecord>;

/** What reading an upload came to; final once the iteration has ended. */
export interface UploadSummary {
  format: IntakeFormat;
  /** Bytes read from the stream (at most `maxFileBytes`). */
  bytes: number;
  /** Items yielded: records plus errors. */
  items: number;
  records: number;
  errors: number;
  errorsByCode: Partial<Record<IntakeErrorCode, number>>;
  /** The code of the file-level error that ended reading early, if one did. */
  fatal?: IntakeErrorCode;
  /** Whether the iteration has ended (the stream was read to its end, or a fatal error stopped it). */
  done: boolean;
}

/** An upload being read: iterate it (once) for its items, then look at its summary. */
export interface Upload extends AsyncIterable<ParsedRecord> {
  readonly format: IntakeFormat;
  readonly summary: UploadSummary;
}

/**
 * Reads an upload as a stream of items, each a record or a coded error, in file order. The format
 * comes from `format`, else the file name's extension, else the content type (see `detectFormat`);
 * when none names a supported format this throws `IntakeError('unsupported_format')` before
 * reading anything. At most `limits.maxFileBytes` bytes are read: past that, reading stops and a
 * last, `fatal` `file_too_large` item follows the records completed before the limit (a record
 * cut by the limit is dropped). The stream is read as the items are consumed, never buffered whole
 * (Parquet is handed to `parquet`, which keeps the bytes to read them from their end).
 * Runs in the node and in a browser alike: the web app reads a file as the node will, to sign what it sends.
 *
 * @example
 * const upload = readUpload({ filename: 'qa.jsonl', stream: request.file, limits: { maxFileBytes: 100 << 20 } }, parquetReader);
 * for await (const item of upload) {
 *   if ('record' in item) accept(item.index, item.record);
 *   else reject(item.index, item.error.code, item.error.message);
 * }
 * console.log(upload.summary); // { format: 'jsonl', bytes: 5120, items: 40, records: 39, errors: 1, errorsByCode: { malformed_json: 1 }, done: true }
 */
export function readUpload(options: UploadOptions, parquet: ParquetReader): Upload {
  const format = detectFormat(options);
  const limits = resolveLimits(options.limits);
  const summary: UploadSummary = { format, bytes: 0, items: 0, records: 0, errors: 0, errorsByCode: {}, done: false };
  const counter = { bytes: 0 };
  const count = (item: ParsedRecord) => {
    summary.items++;
    summary.bytes = counter.bytes;
    if ('record' in item) {
      summary.records++;
      return;
    }
    summary.errors++;
    summary.errorsByCode[item.error.code] = (summary.errorsByCode[item.error.code] ?? 0) + 1;
    if (item.fatal) summary.fatal = item.error.code;
  };
  const read = async function* (): AsyncGenerator<ParsedRecord> {
    const source = limitBytes(options.stream, limits.maxFileBytes, counter);
    let next = 0;
    try {
      for await (const item of parserFor(format, source, options, limits, parquet)) {
        next = item.index + 1;
        count(item);
        yield item;
      }
    } catch (err) {
      if (!(err instanceof IntakeError && err.code === 'file_too_large')) throw err;
      const item: ParsedRecord = { index: next, error: { code: 'file_too_large', message: err.message }, fatal: true };
      count(item);
      yield item;
    }
    summary.bytes = counter.bytes;
    summary.done = true;
  };
  let started = false;
  return {
    format,
    summary,
    [Symbol.asyncIterator]() {
      if (started) throw new Error('an upload can be read only once');
      started = true;
      return read();
    },
  };
}

function parserFor(format: IntakeFormat, source: AsyncIterable<Uint8Array>, options: UploadOptions, limits: ResolvedLimits, parquet: ParquetReader): AsyncIterable<ParsedRecord> {
  switch (format) {
    case 'jsonl':
      return parseJsonl(source, { limits, allowStrings: options.allowStrings ?? false });
    case 'csv':
      return parseCsv(source, { limits, delimiter: options.delimiter ?? ',' });
    case 'tsv':
      return parseCsv(source, { limits, delimiter: '\t' });
    case 'text':
      return parseText(source, { limits, split: options.split ?? 'line' });
    case 'parquet':
      return parquet(source, limits);
  }
}
