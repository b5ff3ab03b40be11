import { IntakeError } from './errors.ts';
import type { IntakeFormat } from './types.ts';

/** Every format intake reads. */
export const INTAKE_FORMATS: readonly IntakeFormat[] = ['jsonl', 'csv', 'tsv', 'text', 'parquet'];

const NAMES: Record<string, IntakeFormat> = {
  jsonl: 'jsonl', ndjson: 'jsonl', jsonlines: 'jsonl',
  csv: 'csv', tsv: 'tsv',
  text: 'text', txt: 'text',
  parquet: 'parquet',
};

const EXTENSIONS: Record<string, IntakeFormat> = {
  jsonl: 'jsonl', ndjson: 'jsonl', jsonlines: 'jsonl',
  csv: 'csv', tsv: 'tsv', tab: 'tsv',
  txt: 'text', text: 'text', md: 'text',
  parquet: 'parquet', pq: 'parquet',
};

const CONTENT_TYPES: Record<string, IntakeFormat> = {
  'application/jsonl': 'jsonl', 'application/jsonlines': 'jsonl', 'application/x-jsonlines': 'jsonl',
  'application/x-ndjson': 'jsonl', 'application/ndjson': 'jsonl', 'text/jsonl': 'jsonl',
  'text/csv': 'csv', 'application/csv': 'csv',
  'text/tab-separated-values': 'tsv',
  'text/plain': 'text', 'text/markdown': 'text',
  'application/vnd.apache.parquet': 'parquet', 'application/x-parquet': 'parquet', 'application/parquet': 'parquet',
};

/** What an upload says about its format. */
export interface FormatHints {
  /** Named by the uploader: a format or an alias (`ndjson`, `txt`); an unknown name is an error. */
  format?: string | undefined;
  filename?: string | undefined;
  /** A MIME type; parameters such as `; charset=utf-8` are ignored. */
  contentType?: string | undefined;
}

/**
 * The format of an upload: the explicit `format` if given, else the one its file extension names
 * (`.jsonl`/`.ndjson`, `.csv`, `.tsv`, `.txt`/`.md`, `.parquet`), else the one its content type
 * names. Throws `IntakeError('unsupported_format')` (HTTP 415) when the explicit format is unknown
 * or nothing given names a known format; `.json` (one JSON document) is not a format intake reads.
 *
 * @example
 * detectFormat({ filename: 'qa.JSONL' })                       // 'jsonl'
 * detectFormat({ filename: 'upload', contentType: 'text/csv' }) // 'csv'
 * detectFormat({ filename: 'data.xlsx' })                      // throws unsupported_format
 */
export function detectFormat(hints: FormatHints): IntakeFormat {
  const supported = `supported formats: ${INTAKE_FORMATS.join(', ')}`;
  if (hints.format !== undefined) {
    const format = NAMES[hints.format.trim().toLowerCase()];
    if (format) return format;
    throw new IntakeError('unsupported_format', `format ${JSON.stringify(hints.format)} is not supported; ${supported}`);
  }
  const ext = extensionOf(hints.filename);
  const byExt = ext === undefined ? undefined : EXTENSIONS[ext];
  if (byExt) return byExt;
  const type = hints.contentType?.split(';')[0]!.trim().toLowerCase();
  const byType = type ? CONTENT_TYPES[type] : undefined;
  if (byType) return byType;
  const told = [
    hints.filename !== undefined ? `file name ${JSON.stringify(hints.filename)}` : undefined,
    type ? `content type ${JSON.stringify(type)}` : undefined,
  ].filter(Boolean);
  const hint = ext === 'json' ? ' (a .json file is one JSON document: upload JSON Lines, one object per line, as .jsonl)' : '';
  throw new IntakeError('unsupported_format', `cannot tell a supported format from ${told.length ? told.join(' or ') : 'nothing (no format, file name or content type)'}${hint}; ${supported}`);
}

/** The lower-case extension of a file name (after its last dot), if it has one. */
function extensionOf(filename: string | undefined): string | undefined {
  const base = filename?.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : undefined;
}
