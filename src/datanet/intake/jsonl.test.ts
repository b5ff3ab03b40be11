import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseJsonl } from './jsonl.ts';
import { bytesFrom, chunked, collect, errorsOf, recordsOf, tempDir, utf8 } from './testing.ts';

test('a JSONL file on disk: one record per line, with index, line and byte size', async () => {
  const { dir, remove } = await tempDir();
  try {
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: i, q: `question ${i} ✓`, tags: ['a', 'b'], nested: { ok: true } }));
    const path = join(dir, 'data.jsonl');
    await writeFile(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const items = await collect(parseJsonl(createReadStream(path, { highWaterMark: 1024 })));
    assert.deepEqual(recordsOf(items), rows);
    assert.deepEqual(items[3], { index: 3, line: 4, record: rows[3], bytes: utf8(JSON.stringify(rows[3])).length });
  } finally {
    await remove();
  }
});

test('bad lines are coded and the good ones around them kept; blank lines are skipped and take no index', async () => {
  const input = [
    '{"a":1}',
    '{"a":2',
    '',
    '   \t',
    '[1,2]',
    '"just text"',
    '42',
    'null',
    '{"a":3}',
  ].join('\n');
  const items = await collect(parseJsonl(chunked(utf8(input))));
  assert.deepEqual(recordsOf(items), [{ a: 1 }, { a: 3 }]);
  assert.deepEqual(errorsOf(items), [[1, 'malformed_json'], [2, 'not_an_object'], [3, 'not_an_object'], [4, 'not_an_object'], [5, 'not_an_object']]);
  assert.deepEqual(items.map((i) => i.line), [1, 2, 5, 6, 7, 8, 9]);
  assert.match((items[1] as { error: { message: string } }).error.message, /^line 2 is not valid JSON: /);
  assert.match((items[2] as { error: { message: string } }).error.message, /line 5 is an array/);

  const withStrings = await collect(parseJsonl(chunked(utf8(input)), { allowStrings: true }));
  assert.deepEqual(recordsOf(withStrings), [{ a: 1 }, 'just text', { a: 3 }], 'allowStrings: a JSON string is a text record');
});

test('invalid UTF-8 inside one line spoils that line only', async () => {
  const bytes = bytesFrom('{"a":"é"}\n{"a":"', [0xc3, 0x28], '"}\n{"a":"', [0xed, 0xa0, 0x80], '"}\n{"a":"ok"}\n');
  const items = await collect(parseJsonl(chunked(bytes, [12, 13, 14])));
  assert.deepEqual(recordsOf(items), [{ a: 'é' }, { a: 'ok' }]);
  assert.deepEqual(errorsOf(items), [[1, 'invalid_utf8'], [2, 'invalid_utf8']], 'a broken sequence and an encoded surrogate');
});

test('binary garbage is `binary`, not a flood of other codes, and does not stop the file', async () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const garbage = Uint8Array.from({ length: 4000 }, random).map((b) => (b === 0x0a ? 0 : b));
  for (let i = 0; i < garbage.length; i += 200) garbage[i] = 0x0a;
  const items = await collect(parseJsonl(chunked(bytesFrom('{"before":1}\n', garbage, '\n{"after":1}\n', 'ab\x01\x02\x03c\n', 'x\x00\n'))));
  assert.deepEqual(recordsOf(items), [{ before: 1 }, { after: 1 }]);
  const codes = new Set(errorsOf(items).map(([, code]) => code));
  assert.deepEqual([...codes], ['binary']);
  assert.deepEqual(errorsOf(items).slice(-2), [[items.length - 2, 'binary'], [items.length - 1, 'binary']], 'control characters and a NUL');
});

test('an oversized line is `line_too_long` and skipped to the next line feed; the limit is configurable', async () => {
  const long = `{"a":"${'x'.repeat(5000)}"}`;
  const items = await collect(parseJsonl(chunked(utf8(`{"a":1}\n${long}\n{"a":2}\n`), [100, 2000, 4000]), { limits: { maxRecordBytes: 1024 } }));
  assert.deepEqual(recordsOf(items), [{ a: 1 }, { a: 2 }]);
  assert.deepEqual(errorsOf(items), [[1, 'line_too_long']]);
  assert.equal((await collect(parseJsonl(chunked(utf8(long))))).length, 1, 'under the default 1 MiB limit it is a record');
});

test('empty file, CRLF line endings, a byte order mark', async () => {
  assert.deepEqual(await collect(parseJsonl(chunked(new Uint8Array(0)))), []);
  assert.deepEqual(await collect(parseJsonl(chunked(utf8('\n\r\n  \n')))), [], 'only blank lines');
  const items = await collect(parseJsonl(chunked(bytesFrom([0xef, 0xbb, 0xbf], '{"a":"x"}\r\n{"b":2}\r\n'), [1, 2])));
  assert.deepEqual(items, [
    { index: 0, line: 1, record: { a: 'x' }, bytes: 9 },
    { index: 1, line: 2, record: { b: 2 }, bytes: 7 },
  ]);
});

test('a chunk boundary inside a multi-byte character or inside a line changes nothing', async () => {
  const bytes = utf8('{"a":"€😀"}\n{"b":1}');
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(recordsOf(await collect(parseJsonl(chunked(bytes, [cut, cut + 1])))), [{ a: '€😀' }, { b: 1 }], `cut at ${cut}`);
  }
});

test('strings are taken as UTF-8 chunks too', async () => {
  assert.deepEqual(recordsOf(await collect(parseJsonl(['{"a":', '"€"}\n{"b"', ':1}']))), [{ a: '€' }, { b: 1 }]);
});

test('property: splitting the same bytes into random chunks gives the same items', async () => {
  const line = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }).map((v) => utf8(JSON.stringify(v))),
    fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 12 }), { maxKeys: 3 }).map((o) => utf8(JSON.stringify(o))),
    fc.constantFrom(utf8('{"bad":'), Uint8Array.from([0x7b, 0x22, 0xe2, 0x82, 0x22, 0x7d]), utf8('   '), new Uint8Array(0), Uint8Array.from([0, 1, 2])),
  );
  const file = fc.tuple(fc.boolean(), fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n')), { maxLength: 12 })).map(([bom, lines]) =>
    bytesFrom(bom ? [0xef, 0xbb, 0xbf] : [], ...lines.flatMap(([l, end]) => [l, end])),
  );
  await fc.assert(
    fc.asyncProperty(file, fc.array(fc.nat(400), { maxLength: 20 }), fc.constantFrom(16, 64, 1 << 20), async (bytes, cuts, maxRecordBytes) => {
      const whole = await collect(parseJsonl(chunked(bytes), { limits: { maxRecordBytes } }));
      const pieces = await collect(parseJsonl(chunked(bytes, cuts), { limits: { maxRecordBytes } }));
      assert.deepEqual(pieces, whole);
      const oneByOne = await collect(parseJsonl(chunked(bytes, Array.from(bytes.subarray(0, 300), (_, i) => i)), { limits: { maxRecordBytes } }));
      assert.deepEqual(oneByOne, whole);
    }),
    { numRuns: 80 },
  );
});

test('a line nested deeper than the limit is malformed_json, checked before it is parsed', async () => {
  const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
  const items = await collect(parseJsonl(chunked(new TextEncoder().encode(`{"ok": 1}\n${deep}\n{"ok": 2}\n`))));
  assert.deepEqual(items.map((i) => ('record' in i ? i.record : i.error.code)), [{ ok: 1 }, 'malformed_json', { ok: 2 }]);
  assert.match((items[1] as { error: { message: string } }).error.message, /line 2 nests arrays and objects more than 100 deep/);
});
