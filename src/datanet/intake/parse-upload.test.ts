import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { IntakeError } from './errors.ts';
import { parseUpload } from './parse-upload.ts';
import { chunked, collect, errorsOf, recordsOf, tempDir, utf8 } from './testing.ts';

test('each format from a real file, picked by format, extension or content type', async () => {
  const { dir, remove } = await tempDir();
  try {
    const files = {
      'a.jsonl': '{"q":"why?"}\n{"q":"how?"}\n',
      'a.csv': 'q\nwhy?\nhow?\n',
      'a.tsv': 'q\tn\nwhy?\t1\n',
      'a.txt': 'why?\nhow?\n',
      'a.parquet': new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'q', data: ['why?', 'how?'], type: 'STRING' }] })),
      'noext': '{"q":"why?"}\n',
    };
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
    const read = async (name: string, hints: { format?: string; contentType?: string } = {}) => {
      const upload = parseUpload({ filename: name, stream: createReadStream(join(dir, name)), tmpDir: dir, ...hints });
      return [upload.format, recordsOf(await collect(upload))];
    };
    assert.deepEqual(await read('a.jsonl'), ['jsonl', [{ q: 'why?' }, { q: 'how?' }]]);
    assert.deepEqual(await read('a.csv'), ['csv', [{ q: 'why?' }, { q: 'how?' }]]);
    assert.deepEqual(await read('a.tsv'), ['tsv', [{ q: 'why?', n: '1' }]]);
    assert.deepEqual(await read('a.txt'), ['text', ['why?', 'how?']]);
    assert.deepEqual(await read('a.parquet'), ['parquet', [{ q: 'why?' }, { q: 'how?' }]]);
    assert.deepEqual(await read('noext', { contentType: 'application/x-ndjson' }), ['jsonl', [{ q: 'why?' }]]);
    assert.deepEqual(await read('a.txt', { format: 'jsonl' }), ['jsonl', []], 'the explicit format wins');
  } finally {
    await remove();
  }
});

test('options reach the format readers: JSON strings, paragraphs, a CSV delimiter', async () => {
  const records = async (options: Parameters<typeof parseUpload>[0]) => recordsOf(await collect(parseUpload(options)));
  assert.deepEqual(await records({ format: 'jsonl', allowStrings: true, stream: chunked(utf8('"a"\n{"b":1}')) }), ['a', { b: 1 }]);
  assert.deepEqual(await records({ format: 'text', split: 'paragraph', stream: chunked(utf8('a\nb\n\nc')) }), ['a\nb', 'c']);
  assert.deepEqual(await records({ format: 'csv', delimiter: ';', stream: chunked(utf8('a;b\n1;2')) }), [{ a: '1', b: '2' }]);
});

test('unsupported formats throw before anything is read', () => {
  let pulled = false;
  const stream = (async function* () {
    pulled = true;
    yield utf8('x');
  })();
  assert.throws(() => parseUpload({ filename: 'data.xlsx', stream }), (err: unknown) => err instanceof IntakeError && err.code === 'unsupported_format');
  assert.equal(pulled, false);
});

test('an oversized file: reading stops at the limit, the records before it are kept, file_too_large comes last', async () => {
  const lines = Array.from({ length: 1000 }, (_, i) => `{"i":${i}}\n`).join('');
  let destroyed = false;
  const stream = Readable.from(chunked(utf8(lines), Array.from({ length: 100 }, (_, i) => i * 97)));
  stream.once('close', () => (destroyed = true));
  const upload = parseUpload({ format: 'jsonl', stream, limits: { maxFileBytes: 1000 } });
  const items = await collect(upload);
  const kept = recordsOf(items);
  let end = 0;
  const complete = Array.from({ length: 1000 }, (_, i) => (end += `{"i":${i}}\n`.length)).filter((e) => e <= 1000).length;
  assert.equal(kept.length, complete, 'every line completed within the first 1000 bytes');
  assert.deepEqual(kept.at(-1), { i: kept.length - 1 });
  assert.deepEqual(errorsOf(items), [[kept.length, 'file_too_large']]);
  assert.equal((items.at(-1) as { fatal?: boolean }).fatal, true);
  assert.deepEqual(upload.summary, { format: 'jsonl', bytes: 1000, items: kept.length + 1, records: kept.length, errors: 1, errorsByCode: { file_too_large: 1 }, fatal: 'file_too_large', done: true });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(destroyed, true, 'the stream was not read to its end');
});

test('an oversized file in every format keeps what was complete before the limit', async () => {
  const csv = await collect(parseUpload({ format: 'csv', stream: chunked(utf8('a\n1\n2\n3333\n')), limits: { maxFileBytes: 8 } }));
  assert.deepEqual(csv.map((i) => ('record' in i ? i.record : i.error.code)), [{ a: '1' }, { a: '2' }, 'file_too_large']);
  const text = await collect(parseUpload({ format: 'text', stream: chunked(utf8('ab\ncd\nef')), limits: { maxFileBytes: 7 } }));
  assert.deepEqual(text.map((i) => ('record' in i ? i.record : i.error.code)), ['ab', 'cd', 'file_too_large']);
  const parquet = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'q', data: ['a'], type: 'STRING' }] }));
  const { dir, remove } = await tempDir();
  try {
    const pq = await collect(parseUpload({ format: 'parquet', stream: chunked(parquet, [10]), limits: { maxFileBytes: parquet.length - 1 }, tmpDir: dir }));
    assert.deepEqual(errorsOf(pq), [[0, 'file_too_large']], 'Parquet needs the whole file');
    assert.deepEqual(await readdir(dir), [], 'the partial copy is removed');
  } finally {
    await remove();
  }
  assert.deepEqual(recordsOf(await collect(parseUpload({ format: 'parquet', stream: chunked(parquet), limits: { maxFileBytes: parquet.length } }))), [{ q: 'a' }], 'exactly at the limit is fine');
});

test('the summary counts bytes, records and errors by code; an empty file has none; an upload is read once', async () => {
  const upload = parseUpload({ filename: 'x.jsonl', stream: chunked(utf8('{"a":1}\nnope\n[1]\n\n{"b":2}\n'), [3]) });
  assert.equal(upload.summary.done, false);
  const items = await collect(upload);
  assert.equal(items.length, 4);
  assert.deepEqual(upload.summary, { format: 'jsonl', bytes: 26, items: 4, records: 2, errors: 2, errorsByCode: { malformed_json: 1, not_an_object: 1 }, done: true });
  assert.throws(() => upload[Symbol.asyncIterator](), /read only once/);

  const empty = parseUpload({ filename: 'empty.csv', stream: chunked(new Uint8Array(0)) });
  assert.deepEqual(await collect(empty), []);
  assert.deepEqual(empty.summary, { format: 'csv', bytes: 0, items: 0, records: 0, errors: 0, errorsByCode: {}, done: true });
});

test('the stream failing is an exception, not an item', async () => {
  const stream = (async function* () {
    yield utf8('{"a":1}\n');
    throw new Error('connection reset');
  })();
  await assert.rejects(collect(parseUpload({ format: 'jsonl', stream })), /connection reset/);
});
