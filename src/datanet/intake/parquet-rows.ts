import { parquetMetadataAsync, parquetReadObjects, type FileMetaData, type ParquetParsers } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { jsonObjectOf } from './parquet-values.ts';
import type { ParsedRecord, ResolvedLimits } from './types.ts';

/** Random access to a file's bytes: hyparquet's `AsyncBuffer` (a file on disk, a `Blob` in a browser). */
export interface RandomAccess {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
}

const DAY_MS = 86_400_000;
/**
 * Most rows one row group may declare: a row group is decoded whole, so a small file declaring
 * 10^8 highly compressible rows would otherwise fill the node's memory (a "Parquet bomb").
 */
export const MAX_PARQUET_ROW_GROUP_ROWS = 1_000_000;
/** Most bytes one row group's columns may declare uncompressed. */
export const MAX_PARQUET_ROW_GROUP_BYTES = 256 * 1024 * 1024;
/** Most rows a whole file may declare. */
export const MAX_PARQUET_ROWS = 10_000_000;

/** Dates and timestamps as ISO 8601 strings rather than `Date` objects. */
const parsers: Partial<ParquetParsers> = {
  dateFromDays: (days: number) => isoOrNull(days * DAY_MS)?.slice(0, 10) ?? null,
  timestampFromMilliseconds: (ms: bigint) => isoOrNull(Number(ms)),
  timestampFromMicroseconds: (us: bigint) => isoOrNull(Number(us / 1000n)),
  timestampFromNanoseconds: (ns: bigint) => isoOrNull(Number(ns / 1_000_000n)),
};

const encoder = new TextEncoder();

/**
 * The rows of a Parquet file (with `hyparquet`; SNAPPY, GZIP, ZSTD, BROTLI, LZ4 and LZ4_RAW
 * through `hyparquet-compressors`), one row group at a time, each row a record: an object from
 * column names to JSON values (see `parquet-values.ts`). A file or row group declaring more rows or
 * uncompressed bytes than the limits above is refused before anything is decompressed (a fatal
 * `file_too_large` item); a row whose JSON is over `maxRecordBytes` is `line_too_long`; a file that
 * cannot be read is a `fatal` `malformed_parquet` item, after the rows read before the damage. Runs
 * where the file is: the node (a temporary file, `parquet.ts`) or a browser (the chosen `File`).
 *
 * @example
 * for await (const item of readParquetRows(file, resolveLimits())) console.log(item);
 */
export async function* readParquetRows(file: RandomAccess, limits: ResolvedLimits): AsyncGenerator<ParsedRecord> {
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file, { parsers });
  } catch (err) {
    yield malformed(0, `the file is not Parquet or its footer is damaged: ${(err as Error).message}`);
    return;
  }
  const refusal = oversized(metadata);
  if (refusal) {
    yield { index: 0, error: { code: 'file_too_large', message: refusal }, fatal: true };
    return;
  }
  let rowStart = 0;
  for (const [group, rowGroup] of metadata.row_groups.entries()) {
    const rowEnd = rowStart + Number(rowGroup.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({ file, metadata, rowStart, rowEnd, compressors, parsers });
    } catch (err) {
      yield malformed(rowStart, `row group ${group} (rows ${rowStart} to ${rowEnd - 1}) cannot be read: ${(err as Error).message}`);
      return;
    }
    for (const [i, row] of rows.entries()) {
      const index = rowStart + i;
      const record = jsonObjectOf(row);
      const bytes = encoder.encode(JSON.stringify(record)).length;
      yield bytes > limits.maxRecordBytes
        ? { index, error: { code: 'line_too_long', message: `row ${index} has ${bytes} bytes as JSON, more than the limit of ${limits.maxRecordBytes}` } }
        : { index, record, bytes };
    }
    rowStart = rowEnd;
  }
}

/** Why the file's declared size is refused, or null (the declared rows and bytes, nothing decoded). */
function oversized(metadata: FileMetaData): string | null {
  if (Number(metadata.num_rows) > MAX_PARQUET_ROWS) return `the file declares ${metadata.num_rows} rows; at most ${MAX_PARQUET_ROWS} are read from one upload`;
  for (const [group, rowGroup] of metadata.row_groups.entries()) {
    if (Number(rowGroup.num_rows) > MAX_PARQUET_ROW_GROUP_ROWS) return `row group ${group} declares ${rowGroup.num_rows} rows; at most ${MAX_PARQUET_ROW_GROUP_ROWS} per row group are read (write the file with smaller row groups)`;
    const bytes = rowGroup.columns.reduce((n, c) => n + Number(c.meta_data?.total_uncompressed_size ?? 0), 0);
    if (bytes > MAX_PARQUET_ROW_GROUP_BYTES) return `row group ${group} declares ${bytes} bytes uncompressed; at most ${MAX_PARQUET_ROW_GROUP_BYTES} per row group are read`;
  }
  return null;
}

function malformed(index: number, message: string): ParsedRecord {
  return { index, error: { code: 'malformed_parquet', message }, fatal: true };
}

function isoOrNull(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
