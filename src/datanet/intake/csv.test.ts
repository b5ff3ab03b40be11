import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseCsv } from './csv.ts';
import { bytesFrom, chunked, collect, errorsOf, recordsOf, tempDir, utf8 } from './testing.ts';

test('a CSV file on disk: the header names the fields, values are strings, quoted fields may hold commas, quotes and line breaks', async () => {
  const { dir, remove } = await tempDir();
  try {
    const path = join(dir, 'qa.csv');
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: String(i), question: `why, number ${i}?`, answer: `because "${i}"\nand more` }));
    const quote = (s: string) => `"${s.replaceAll('"', '""')}"`;
    await writeFile(path, 'id,question,answer\n' + rows.map((r) => `${r.id},${quote(r.question)},${quote(r.answer)}`).join('\n') + '\n');
    const items = await collect(parseCsv(createReadStream(path, { highWaterMark: 512 })));
    assert.deepEqual(recordsOf(items), rows);
    assert.deepEqual(items.slice(0, 2).map((i) => [i.index, i.line]), [[0, 2], [1, 4]], 'line numbers count the line breaks inside fields');
    assert.deepEqual(items[0], { index: 0, line: 2, record: rows[0], bytes: utf8('0,"why, number 0?","because ""0""\nand more"').length });
  } finally {
    await remove();
  }
});

test('bad rows are `malformed_csv` (bad quoting, wrong number of fields) and the good ones around them kept', async () => {
  const input = ['a,b', '1,2', '3', '4,5,6', 'x"y,7', '"z"w,8', '9,10', '', '"open,11'].join('\n');
  for (const batchSize of [1, 2, 256]) {
    const items = await collect(parseCsv(chunked(utf8(input)), { batchSize }));
    assert.deepEqual(recordsOf(items), [{ a: '1', b: '2' }, { a: '9', b: '10' }]);
    assert.deepEqual(errorsOf(items), [[1, 'malformed_csv'], [2, 'malformed_csv'], [3, 'malformed_csv'], [4, 'malformed_csv'], [6, 'malformed_csv']]);
    const messages = items.flatMap((i) => ('error' in i ? [i.error.message] : []));
    assert.deepEqual(messages, [
      'the row on line 3 has 1 fields, the header has 2',
      'the row on line 4 has 3 fields, the header has 2',
      'the row on line 5 is not valid CSV: a quote inside a field that does not start with one',
      'the row on line 6 is not valid CSV: characters after the closing quote of a field',
      'the row on line 9 is not valid CSV: a quoted field is not closed',
    ]);
  }
});

test('byte rules as for JSONL: invalid UTF-8, binary and oversized rows are coded; blank lines skipped', async () => {
  const bytes = bytesFrom('k,v\n1,é\n2,', [0xff, 0xfe], '\n3,a\x00b\n\n4,', 'x'.repeat(100), '\n5,ok\n');
  const items = await collect(parseCsv(chunked(bytes, [9, 10, 11, 30, 60]), { limits: { maxRecordBytes: 64 } }));
  assert.deepEqual(recordsOf(items), [{ k: '1', v: 'é' }, { k: '5', v: 'ok' }]);
  assert.deepEqual(errorsOf(items), [[1, 'invalid_utf8'], [2, 'binary'], [3, 'line_too_long']]);
});

test('CRLF line endings, a byte order mark before the header, an empty file, a header alone, TSV', async () => {
  const items = await collect(parseCsv(chunked(bytesFrom([0xef, 0xbb, 0xbf], 'name,note\r\nann,"two\r\nlines"\r\nbob,\r\n'), [1, 2, 15])));
  assert.deepEqual(recordsOf(items), [{ name: 'ann', note: 'two\r\nlines' }, { name: 'bob', note: '' }], 'CRLF inside a quoted field is data');
  assert.deepEqual(await collect(parseCsv(chunked(new Uint8Array(0)))), []);
  assert.deepEqual(await collect(parseCsv(chunked(utf8('a,b\n')))), []);
  assert.deepEqual(recordsOf(await collect(parseCsv(chunked(utf8('a\tb\n1,2\t"3\t4"\n')), { delimiter: '\t' }))), [{ a: '1,2', b: '3\t4' }]);
});

test('a header that cannot be read is one fatal item and nothing more is read', async () => {
  const fatal = async (input: Uint8Array | string) => {
    const items = await collect(parseCsv(chunked(typeof input === 'string' ? utf8(input) : input)));
    assert.equal(items.length, 1);
    const [item] = items;
    assert.ok(item && 'error' in item && item.fatal);
    return [item.error.code, item.error.message];
  };
  assert.deepEqual(await fatal('a,b,a\n1,2,3\n'), ['malformed_csv', 'the header names column "a" twice']);
  assert.deepEqual(await fatal(',b\n1,2\n'), ['malformed_csv', 'column 1 of the header has no name']);
  assert.deepEqual(await fatal('"a,b\n1,2\n'), ['malformed_csv', 'the header on line 1 is not valid CSV: a quoted field is not closed']);
  assert.deepEqual((await fatal(bytesFrom('a,', [0xff], '\n1,2\n')))[0], 'invalid_utf8');
});

test('a header name such as __proto__ is an ordinary field', async () => {
  const [item] = await collect(parseCsv(chunked(utf8('__proto__,b\n1,2\n'))));
  assert.ok(item && 'record' in item && typeof item.record === 'object');
  assert.deepEqual(Object.keys(item.record), ['__proto__', 'b']);
  assert.equal(Object.getPrototypeOf(item.record), Object.prototype);
});

test('property: chunking and batching never change the items', async () => {
  const field = fc.oneof(
    fc.constantFrom('', 'a', 'é€', ' x ', '1'),
    fc.string({ maxLength: 5 }).map((s) => `"${s.replaceAll('"', '""')}"`),
    fc.constantFrom('"a\nb"', '"c\r\nd"', 'x"y', '"z"w', '"open'),
  );
  const row = fc.array(field, { minLength: 1, maxLength: 4 }).map((fields) => fields.join(','));
  const file = fc.tuple(fc.boolean(), fc.array(row, { maxLength: 10 }), fc.constantFrom('\n', '\r\n')).map(([bom, rows, eol]) =>
    bytesFrom(bom ? [0xef, 0xbb, 0xbf] : [], ['h1,h2,h3', ...rows].join(eol), eol),
  );
  await fc.assert(
    fc.asyncProperty(file, fc.array(fc.nat(200), { maxLength: 20 }), fc.constantFrom(24, 1 << 20), async (bytes, cuts, maxRecordBytes) => {
      const options = { limits: { maxRecordBytes } };
      const whole = await collect(parseCsv(chunked(bytes), options));
      assert.deepEqual(await collect(parseCsv(chunked(bytes, cuts), options)), whole);
      assert.deepEqual(await collect(parseCsv(chunked(bytes), { ...options, batchSize: 1 })), whole, 'one csv-parse call per row');
    }),
    { numRuns: 150 },
  );
});
