import { readParquetRows } from './parquet-rows.ts';
import { openSlices, spool } from './spool.ts';
import { resolveLimits, type ByteSource, type IntakeLimits, type ParsedRecord } from './types.ts';

export { MAX_PARQUET_ROW_GROUP_BYTES, MAX_PARQUET_ROW_GROUP_ROWS, MAX_PARQUET_ROWS } from './parquet-rows.ts';

/** Options of the Parquet reader. */
export interface ParquetOptions {
  limits?: IntakeLimits;
  /** Folder for the temporary copy of the upload (default: the system's temporary folder). */
  tmpDir?: string;
}

/**
 * Reads a Parquet upload on the node: Parquet's footer is at its end, so the upload is first
 * written to a temporary file (removed when the iteration ends or is abandoned with `return`),
 * then its rows are read one row group at a time ({@link readParquetRows}: limits, values, errors),
 * so memory holds one row group, not the file.
 *
 * @example
 * for await (const item of parseParquet(createReadStream('train.parquet'))) console.log(item);
 * // { index: 0, record: { question: 'why?', answer: 'because', id: 1 }, bytes: 45 }
 */
export async function* parseParquet(source: ByteSource, options: ParquetOptions = {}): AsyncGenerator<ParsedRecord> {
  const spooled = await spool(source, options.tmpDir);
  try {
    const file = await openSlices(spooled.path);
    try {
      yield* readParquetRows(file, resolveLimits(options.limits));
    } finally {
      await file.close();
    }
  } finally {
    await spooled.remove();
  }
}
