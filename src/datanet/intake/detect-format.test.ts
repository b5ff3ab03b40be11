import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFormat } from './detect-format.ts';
import { IntakeError } from './errors.ts';

test('explicit format first, then the file extension, then the content type', () => {
  assert.equal(detectFormat({ format: 'NDJSON', filename: 'a.csv', contentType: 'text/plain' }), 'jsonl');
  assert.equal(detectFormat({ filename: 'C:\\data\\Q&A.Parquet', contentType: 'text/csv' }), 'parquet');
  assert.equal(detectFormat({ filename: 'dir.v2/archive.tsv' }), 'tsv');
  assert.equal(detectFormat({ filename: 'notes.md' }), 'text');
  assert.equal(detectFormat({ filename: 'upload', contentType: 'text/csv; charset=utf-8' }), 'csv', 'no extension: the content type');
  assert.equal(detectFormat({ filename: 'blob.bin', contentType: 'application/x-ndjson' }), 'jsonl', 'an unknown extension: the content type');
  assert.equal(detectFormat({ filename: '.jsonl', contentType: 'text/plain' }), 'text', 'a dot file has no extension');
});

test('unknown formats are IntakeError unsupported_format (HTTP 415) with a clear message', () => {
  const unsupported = (hints: Parameters<typeof detectFormat>[0], message: RegExp) =>
    assert.throws(() => detectFormat(hints), (err: unknown) => err instanceof IntakeError && err.code === 'unsupported_format' && message.test(err.message));
  unsupported({ format: 'xlsx', filename: 'a.csv' }, /^format "xlsx" is not supported; supported formats: jsonl, csv, tsv, text, parquet$/);
  unsupported({ filename: 'data.json' }, /a \.json file is one JSON document/);
  unsupported({ filename: 'data.jsonl.gz', contentType: 'application/gzip' }, /file name "data.jsonl.gz" or content type "application\/gzip"/);
  unsupported({}, /from nothing \(no format, file name or content type\)/);
});
