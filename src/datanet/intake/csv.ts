import { CsvError, parse } from 'csv-parse/sync';
import { bytesOf } from './byte-source.ts';
import { csvBoundary } from './csv-boundary.ts';
import { looksBinary } from './record-bytes.ts';
import { RecordSplitter, type Piece } from './record-splitter.ts';
import { resolveLimits, type ByteSource, type IntakeLimits, type ParsedError, type ParsedRecord, type ResolvedLimits } from './types.ts';

/** Options of the CSV reader. */
export interface CsvOptions {
  limits?: IntakeLimits;
  /** One ASCII character between fields (default `,`; `\t` for TSV). */
  delimiter?: string;
  /** Rows handed to csv-parse at once (default 256, and at most 1 MiB of them); the items do not depend on it, only the speed does. */
  batchSize?: number;
}

/** Most bytes of the rows handed to csv-parse at once, so that a batch of long rows stays small. */
const BATCH_BYTES = 1024 * 1024;

/** A data row that passed the byte checks and waits for csv-parse. */
interface Pending {
  index: number;
  line: number;
  bytes: Uint8Array;
}

/**
 * Reads CSV (RFC 4180, fields parsed by `csv-parse`, strictly) whose first row, the header, names
 * the fields: every later row becomes an object from header names to the row's fields, all strings
 * (an empty field is `''`). The stream is split into rows first (a line feed outside quotes ends a
 * row, so quoted fields may hold line breaks), each row held only while it is under
 * `maxRecordBytes`; then each row is checked (`line_too_long`, `binary`, `invalid_utf8`) and
 * parsed, so a row with bad quoting (an unclosed quoted field, text after a closing quote, a quote
 * inside a field that does not start with one) or a different number of fields than the header is
 * a `malformed_csv` item and the rows around it are kept. Blank lines are skipped. A header that
 * cannot be read, or has an empty or repeated name, is a `fatal` item at index 0 and nothing more
 * is read.
 *
 * @example
 * for await (const item of parseCsv(createReadStream('qa.csv'))) console.log(item);
 * // { index: 0, line: 2, record: { question: 'why?', answer: 'because' }, bytes: 14 }
 */
export async function* parseCsv(source: ByteSource, options: CsvOptions = {}): AsyncGenerator<ParsedRecord> {
  const limits = resolveLimits(options.limits);
  const delimiter = options.delimiter ?? ',';
  const batchSize = options.batchSize ?? 256;
  const splitter = new RecordSplitter(csvBoundary(delimiter), limits.maxRecordBytes);
  let header: string[] | undefined;
  let index = 0;
  let batch: Pending[] = [];
  let batchBytes = 0;
  /** The items of `pieces`, in order; `fatal` when the header is bad. */
  const read = function* (pieces: Piece[], last: boolean): Generator<ParsedRecord> {
    for (const piece of pieces) {
      if (piece.kind === 'record' && piece.bytes.length === 0) continue;
      if (header === undefined) {
        const read = readHeader(piece, limits, delimiter);
        if ('error' in read) {
          yield read;
          return;
        }
        header = read.names;
        continue;
      }
      const error = checkRow(piece, limits);
      if (error) {
        yield* parseBatch(batch, header, delimiter);
        batch = [];
        batchBytes = 0;
        yield { index: index++, line: piece.line, error };
        continue;
      }
      const bytes = (piece as Extract<Piece, { kind: 'record' }>).bytes;
      batch.push({ index: index++, line: piece.line, bytes });
      batchBytes += bytes.length;
      if (batch.length >= batchSize || batchBytes >= BATCH_BYTES) {
        yield* parseBatch(batch, header, delimiter);
        batch = [];
        batchBytes = 0;
      }
    }
    if (last && header !== undefined) {
      yield* parseBatch(batch, header, delimiter);
      batch = [];
    }
  };
  try {
    for await (const chunk of bytesOf(source)) {
      for (const item of read(splitter.push(chunk), false)) {
        yield item;
        if ('fatal' in item) return;
      }
    }
  } catch (err) {
    // the source failed (file_too_large, most often): the rows completed before still count
    if (header !== undefined) yield* parseBatch(batch, header, delimiter);
    throw err;
  }
  for (const item of read(splitter.end(), true)) yield item;
}

function checkRow(piece: Piece, limits: ResolvedLimits): ParsedError['error'] | undefined {
  const { line } = piece;
  if (piece.kind === 'too_long') return { code: 'line_too_long', message: `the row on line ${line} has ${piece.size} bytes, more than the limit of ${limits.maxRecordBytes}` };
  if (looksBinary(piece.bytes, limits.binaryThreshold)) return { code: 'binary', message: `the row on line ${line} looks like binary data` };
  if (!isUtf8(piece.bytes)) return { code: 'invalid_utf8', message: `the row on line ${line} is not valid UTF-8` };
  return undefined;
}

function readHeader(piece: Piece, limits: ResolvedLimits, delimiter: string): { names: string[] } | ParsedError {
  const fatal = (error: ParsedError['error']): ParsedError => ({ index: 0, line: piece.line, error, fatal: true });
  const error = checkRow(piece, limits);
  if (error) return fatal({ ...error, message: error.message.replace('the row on', 'the header on') });
  const bytes = (piece as Extract<Piece, { kind: 'record' }>).bytes;
  let rows: string[][];
  try {
    rows = parse(textOf(bytes), { ...CSV_PARSE, delimiter }) as string[][];
  } catch (err) {
    return fatal({ code: 'malformed_csv', message: `the header on line ${piece.line} is not valid CSV: ${csvProblem(err)}` });
  }
  const names = rows[0] ?? [];
  const seen = new Set<string>();
  for (const [i, name] of names.entries()) {
    if (name === '') return fatal({ code: 'malformed_csv', message: `column ${i + 1} of the header has no name` });
    if (seen.has(name)) return fatal({ code: 'malformed_csv', message: `the header names column ${JSON.stringify(name)} twice` });
    seen.add(name);
  }
  return { names };
}

/** The csv-parse options every parse uses: strict RFC 4180, LF-separated rows (CRs of CRLF are already gone). */
const CSV_PARSE = { record_delimiter: '\n', bom: false, relax_quotes: false, relax_column_count: false, skip_empty_lines: false } as const;

/**
 * The items of `batch`: parsed in one csv-parse call when that succeeds with one object per row
 * (the usual case), else row by row, so that each bad row gets its own error.
 */
function parseBatch(batch: Pending[], header: string[], delimiter: string): ParsedRecord[] {
  if (batch.length === 0) return [];
  if (batch.length > 1) {
    let size = batch.length - 1;
    for (const p of batch) size += p.bytes.length;
    const joined = new Uint8Array(size);
    let at = 0;
    for (const [i, p] of batch.entries()) {
      if (i > 0) joined[at++] = 0x0a;
      joined.set(p.bytes, at);
      at += p.bytes.length;
    }
    try {
      const rows = parse(textOf(joined), { ...CSV_PARSE, delimiter, columns: header }) as Record<string, string>[];
      if (rows.length === batch.length) return batch.map((p, i) => ({ index: p.index, line: p.line, record: rows[i]!, bytes: p.bytes.length }));
    } catch {}
  }
  return batch.map((p) => parseRow(p, header, delimiter));
}

function parseRow(p: Pending, header: string[], delimiter: string): ParsedRecord {
  const { index, line } = p;
  try {
    const rows = parse(textOf(p.bytes), { ...CSV_PARSE, delimiter, columns: header }) as Record<string, string>[];
    if (rows.length === 1) return { index, line, record: rows[0]!, bytes: p.bytes.length };
    return { index, line, error: { code: 'malformed_csv', message: `the row on line ${line} is ${rows.length} rows to the CSV parser` } };
  } catch (err) {
    if (err instanceof CsvError && err.code === 'CSV_RECORD_INCONSISTENT_COLUMNS') {
      const fields = Array.isArray((err as CsvError & { record?: unknown[] }).record) ? (err as CsvError & { record: unknown[] }).record.length : undefined;
      return { index, line, error: { code: 'malformed_csv', message: `the row on line ${line} has ${fields ?? 'a different number of'} fields, the header has ${header.length}` } };
    }
    return { index, line, error: { code: 'malformed_csv', message: `the row on line ${line} is not valid CSV: ${csvProblem(err)}` } };
  }
}

/** What csv-parse found wrong, without its line number (which counts from the row, not the file). */
function csvProblem(err: unknown): string {
  const code = err instanceof CsvError ? err.code : undefined;
  if (code === 'CSV_QUOTE_NOT_CLOSED') return 'a quoted field is not closed';
  if (code === 'INVALID_OPENING_QUOTE') return 'a quote inside a field that does not start with one';
  if (code === 'CSV_INVALID_CLOSING_QUOTE') return 'characters after the closing quote of a field';
  return code ?? (err as Error).message;
}

// TextDecoder rather than node:buffer, so the web app reads CSV as the node does (to sign what it sends)
const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/** Whether the bytes are valid UTF-8. */
function isUtf8(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The rows' text (checked to be UTF-8 before): csv-parse reads it as it would the bytes, with no BOM handling (`bom: false`). */
const textOf = (bytes: Uint8Array): string => lenient.decode(bytes);
