/**
 * The shapes that intake hands to validation: one item per record of an upload, good or bad, in
 * file order. Intake only turns bytes into records; whether a record is acceptable to a datanet
 * (schema, size, duplicates) is validation's job.
 */

/** The upload formats intake reads. TSV is CSV with a tab delimiter. */
export const intakeFormats = ['jsonl', 'csv', 'tsv', 'text', 'parquet'] as const;
export type IntakeFormat = (typeof intakeFormats)[number];

/**
 * Why bytes did not become a record (a subset of validation's `RejectionReason`):
 * - `malformed_json`: a JSONL line is not valid JSON;
 * - `not_an_object`: a JSONL line is valid JSON but not an object (nor, when allowed, a string);
 * - `malformed_csv`: a CSV row cannot be parsed (bad quoting) or has a different number of fields
 *   than the header (the message says which); also a header with empty or repeated names;
 * - `malformed_parquet`: the Parquet file cannot be read (file-level, `fatal`);
 * - `invalid_utf8`: the record's bytes are not UTF-8;
 * - `binary`: the record has NUL bytes or too many control characters;
 * - `line_too_long`: the record is larger than `maxRecordBytes` (a line, CSV row, paragraph or
 *   Parquet row);
 * - `file_too_large`: the upload is larger than `maxFileBytes`; reading stopped there (`fatal`);
 * - `unsupported_format`: thrown by `parseUpload` (as an `IntakeError`) before anything is read.
 */
export type IntakeErrorCode =
  | 'malformed_json'
  | 'not_an_object'
  | 'malformed_csv'
  | 'malformed_parquet'
  | 'invalid_utf8'
  | 'binary'
  | 'line_too_long'
  | 'file_too_large'
  | 'unsupported_format';

/** A record read from an upload: a JSON object (JSONL, CSV, Parquet) or a piece of text. */
export interface ParsedOk {
  /** Position of this item among the upload's items (good and bad), from 0; blank lines are not items. */
  index: number;
  record: Record<string, unknown> | string;
  /** Size of the record's source in bytes: the line (or CSV row, paragraph) without its line ending; for Parquet, the row's JSON. */
  bytes: number;
  /** 1-based line where the record starts (line-based formats only). */
  line?: number;
}

/** Bytes that did not become a record, with a machine-readable code. */
export interface ParsedError {
  index: number;
  error: { code: IntakeErrorCode; message: string };
  line?: number;
  /** Set on a file-level error (`file_too_large`, `malformed_parquet`, a bad CSV header): it is the last item. */
  fatal?: true;
}

/** One item of an upload: a record or the reason its bytes are not one. */
export type ParsedRecord = ParsedOk | ParsedError;

/** Bytes as they arrive: a Node Readable, a web ReadableStream, any (async) iterable of chunks. Strings are UTF-8 encoded. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** Limits on an upload's bytes. */
export interface IntakeLimits {
  /** Most bytes of one record (line, CSV row, paragraph, Parquet row as JSON). Default 1 MiB. */
  maxRecordBytes?: number;
  /** Most bytes of the whole upload. Default 256 MiB. */
  maxFileBytes?: number;
  /**
   * A record is `binary` if it has a NUL byte, or if more than this fraction of its bytes are
   * control characters (C0 other than tab, LF, VT, FF, CR; and DEL). Default 0.05.
   */
  binaryThreshold?: number;
}

/** Default most bytes of one record: 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
/** Default most bytes of an upload: 256 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;
/** Default fraction of control bytes above which a record is `binary`. */
export const DEFAULT_BINARY_THRESHOLD = 0.05;

/** `limits` with every default filled in. */
export type ResolvedLimits = Required<IntakeLimits>;

/**
 * Fills in the defaults of `limits` and checks them.
 *
 * @example
 * resolveLimits({ maxRecordBytes: 4096 }) // { maxRecordBytes: 4096, maxFileBytes: 268435456, binaryThreshold: 0.05 }
 */
export function resolveLimits(limits: IntakeLimits = {}): ResolvedLimits {
  const resolved = {
    maxRecordBytes: limits.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    maxFileBytes: limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    binaryThreshold: limits.binaryThreshold ?? DEFAULT_BINARY_THRESHOLD,
  };
  for (const key of ['maxRecordBytes', 'maxFileBytes'] as const) {
    const v = resolved[key];
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${key} must be a positive integer, got ${v}`);
  }
  if (!(resolved.binaryThreshold >= 0 && resolved.binaryThreshold <= 1)) throw new RangeError(`binaryThreshold must be in [0, 1], got ${resolved.binaryThreshold}`);
  return resolved;
}
