import { bytesOf } from './byte-source.ts';
import { decodeUtf8, looksBinary } from './record-bytes.ts';
import { lineBoundary, RecordSplitter, type Piece } from './record-splitter.ts';
import { resolveLimits, type ByteSource, type IntakeLimits, type ParsedError, type ParsedRecord, type ResolvedLimits } from './types.ts';

/** Options of the plain-text reader. */
export interface TextOptions {
  limits?: IntakeLimits;
  /**
   * `line` (default): each line that is not blank is a record.
   * `paragraph`: each run of lines that are not blank is a record, its lines joined with LF.
   */
  split?: 'line' | 'paragraph';
}

/**
 * Reads plain UTF-8 text into string records, one per line or one per paragraph (blank-line
 * separated). Blank lines (empty or only whitespace) separate records and are never records
 * themselves. Line endings are not part of a record (CRLF becomes LF inside a paragraph); other
 * whitespace is kept as it is. A record over `maxRecordBytes` is `line_too_long`; a line that is not
 * UTF-8 is `invalid_utf8`, one that looks binary is `binary`; in paragraph mode such a line makes
 * its whole paragraph that error.
 *
 * @example
 * for await (const item of parseText(createReadStream('notes.txt'), { split: 'paragraph' })) console.log(item);
 */
export async function* parseText(source: ByteSource, options: TextOptions = {}): AsyncGenerator<ParsedRecord> {
  const limits = resolveLimits(options.limits);
  const splitter = new RecordSplitter(lineBoundary(), limits.maxRecordBytes);
  const reader = options.split === 'paragraph' ? paragraphReader(limits) : lineReader(limits);
  for await (const chunk of bytesOf(source)) {
    for (const piece of splitter.push(chunk)) yield* reader.piece(piece);
  }
  for (const piece of splitter.end()) yield* reader.piece(piece);
  yield* reader.end();
}

interface Reader {
  piece(piece: Piece): ParsedRecord[];
  end(): ParsedRecord[];
}

/** A line's text, its error, or undefined when it is blank. */
type Line = { text: string; bytes: number } | { error: ParsedError['error'] } | undefined;

function readLine(piece: Piece, limits: ResolvedLimits): Line {
  const { line } = piece;
  if (piece.kind === 'too_long') return { error: { code: 'line_too_long', message: `line ${line} has ${piece.size} bytes, more than the limit of ${limits.maxRecordBytes}` } };
  if (piece.bytes.length === 0) return undefined;
  if (looksBinary(piece.bytes, limits.binaryThreshold)) return { error: { code: 'binary', message: `line ${line} looks like binary data` } };
  const text = decodeUtf8(piece.bytes);
  if (text === undefined) return { error: { code: 'invalid_utf8', message: `line ${line} is not valid UTF-8` } };
  if (text.trim() === '') return undefined;
  return { text, bytes: piece.bytes.length };
}

function lineReader(limits: ResolvedLimits): Reader {
  let index = 0;
  return {
    piece(piece) {
      const read = readLine(piece, limits);
      if (read === undefined) return [];
      const line = piece.line;
      return ['error' in read ? { index: index++, line, error: read.error } : { index: index++, line, record: read.text, bytes: read.bytes }];
    },
    end: () => [],
  };
}

function paragraphReader(limits: ResolvedLimits): Reader {
  let index = 0;
  let lines: string[] = [];
  let bytes = 0; // of the paragraph, counting one LF between lines
  let start = 0; // line where the paragraph starts; 0 when there is none
  let error: ParsedError['error'] | undefined;
  const close = (): ParsedRecord[] => {
    if (start === 0) return [];
    const line = start;
    const item: ParsedRecord = error ? { index: index++, line, error } : { index: index++, line, record: lines.join('\n'), bytes };
    lines = [];
    bytes = 0;
    start = 0;
    error = undefined;
    return [item];
  };
  return {
    piece(piece) {
      const read = readLine(piece, limits);
      if (read === undefined) return close();
      if (start === 0) start = piece.line;
      if (error) return [];
      if ('error' in read) {
        error = read.error.code === 'line_too_long' ? tooLong(start, limits) : { ...read.error, message: `${read.error.message} (in the paragraph starting on line ${start})` };
        lines = [];
        return [];
      }
      bytes += (lines.length > 0 ? 1 : 0) + read.bytes;
      if (bytes > limits.maxRecordBytes) {
        error = tooLong(start, limits);
        lines = [];
        return [];
      }
      lines.push(read.text);
      return [];
    },
    end: close,
  };
}

function tooLong(start: number, limits: ResolvedLimits): ParsedError['error'] {
  return { code: 'line_too_long', message: `the paragraph starting on line ${start} has more than the limit of ${limits.maxRecordBytes} bytes` };
}
