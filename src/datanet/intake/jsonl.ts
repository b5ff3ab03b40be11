import { jsonDeeperThan, MAX_JSON_DEPTH } from '../../util/json-depth.ts';
import { bytesOf } from './byte-source.ts';
import { decodeUtf8, looksBinary } from './record-bytes.ts';
import { lineBoundary, RecordSplitter, type Piece } from './record-splitter.ts';
import { resolveLimits, type ByteSource, type IntakeLimits, type ParsedRecord, type ResolvedLimits } from './types.ts';

/** Options of the JSONL reader. */
export interface JsonlOptions {
  limits?: IntakeLimits;
  /** Accept a line that is a JSON string as a text record (default false: only objects are records). */
  allowStrings?: boolean;
}

/**
 * Reads JSON Lines: one JSON value per line (LF or CRLF), streamed chunk by chunk. Each line is a
 * record if it is a JSON object (or, with `allowStrings`, a JSON string); otherwise an error item
 * with its code: `line_too_long`, `binary`, `invalid_utf8`, `malformed_json` or `not_an_object`.
 * Blank lines (empty or only whitespace) are skipped: they are not items and take no index.
 * Numbers are JavaScript numbers (integers beyond 2^53 lose precision, as with `JSON.parse`).
 *
 * @example
 * for await (const item of parseJsonl(createReadStream('data.jsonl'))) {
 *   if ('record' in item) keep(item.record); else report(item.index, item.error.code);
 * }
 */
export async function* parseJsonl(source: ByteSource, options: JsonlOptions = {}): AsyncGenerator<ParsedRecord> {
  const limits = resolveLimits(options.limits);
  const allowStrings = options.allowStrings ?? false;
  const splitter = new RecordSplitter(lineBoundary(), limits.maxRecordBytes);
  let index = 0;
  const read = (piece: Piece): ParsedRecord | undefined => {
    const item = jsonlItem(piece, index, limits, allowStrings);
    if (item) index++;
    return item;
  };
  for await (const chunk of bytesOf(source)) {
    for (const piece of splitter.push(chunk)) {
      const item = read(piece);
      if (item) yield item;
    }
  }
  for (const piece of splitter.end()) {
    const item = read(piece);
    if (item) yield item;
  }
}

/** The item for one line, or undefined for a blank line. */
function jsonlItem(piece: Piece, index: number, limits: ResolvedLimits, allowStrings: boolean): ParsedRecord | undefined {
  const { line } = piece;
  if (piece.kind === 'too_long') {
    return { index, line, error: { code: 'line_too_long', message: `line ${line} has ${piece.size} bytes, more than the limit of ${limits.maxRecordBytes}` } };
  }
  const { bytes } = piece;
  if (bytes.length === 0) return undefined;
  const text = decodeUtf8(bytes);
  // checked before parsing: deeper records would overflow the stack where they are canonicalised
  if (text !== undefined && jsonDeeperThan(bytes, MAX_JSON_DEPTH)) {
    return { index, line, error: { code: 'malformed_json', message: `line ${line} nests arrays and objects more than ${MAX_JSON_DEPTH} deep` } };
  }
  let value: unknown;
  let parsed = false;
  let why = '';
  if (text !== undefined) {
    try {
      value = JSON.parse(text);
      parsed = true;
    } catch (err) {
      why = (err as Error).message;
    }
  }
  if (!parsed) {
    if (looksBinary(bytes, limits.binaryThreshold)) return { index, line, error: { code: 'binary', message: `line ${line} looks like binary data` } };
    if (text === undefined) return { index, line, error: { code: 'invalid_utf8', message: `line ${line} is not valid UTF-8` } };
    if (text.trim() === '') return undefined;
    return { index, line, error: { code: 'malformed_json', message: `line ${line} is not valid JSON: ${why}` } };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return { index, line, record: value as Record<string, unknown>, bytes: bytes.length };
  if (allowStrings && typeof value === 'string') return { index, line, record: value, bytes: bytes.length };
  const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
  return { index, line, error: { code: 'not_an_object', message: `line ${line} is ${what}, not a JSON object${allowStrings ? ' or string' : ''}` } };
}
