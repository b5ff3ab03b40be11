import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseText } from './text.ts';
import { bytesFrom, chunked, collect, errorsOf, recordsOf, tempDir, utf8 } from './testing.ts';

const sample = 'First line\r\nsecond  line \n\n   \nThird ✓\n';

test('a text file on disk, one record per non-blank line (line endings dropped, other whitespace kept)', async () => {
  const { dir, remove } = await tempDir();
  try {
    const path = join(dir, 'notes.txt');
    await writeFile(path, sample);
    const items = await collect(parseText(createReadStream(path, { highWaterMark: 7 })));
    assert.deepEqual(items, [
      { index: 0, line: 1, record: 'First line', bytes: 10 },
      { index: 1, line: 2, record: 'second  line ', bytes: 13 },
      { index: 2, line: 5, record: 'Third ✓', bytes: 9 },
    ]);
  } finally {
    await remove();
  }
});

test('paragraph mode: runs of non-blank lines joined with LF, separated by blank lines', async () => {
  const items = await collect(parseText(chunked(utf8('\n\nPara one,\r\nstill one.\n \nPara two.\n\n\n\nPara\nthree')), { split: 'paragraph' }));
  assert.deepEqual(items, [
    { index: 0, line: 3, record: 'Para one,\nstill one.', bytes: 20 },
    { index: 1, line: 6, record: 'Para two.', bytes: 9 },
    { index: 2, line: 10, record: 'Para\nthree', bytes: 10 },
  ]);
});

test('bad lines: invalid UTF-8, binary, too long; in paragraph mode they spoil their paragraph only', async () => {
  const bytes = bytesFrom('ok 1\n', [0xe2, 0x82], '\nbin\x00ary\n', 'y'.repeat(50), '\nok 2\n\nok 3\n', [0xff], '\n\nlong\n', 'z'.repeat(30), '\n', 'z'.repeat(30), '\n\nok 4');
  const lines = await collect(parseText(chunked(bytes, [3, 6, 7, 30]), { limits: { maxRecordBytes: 40 } }));
  assert.deepEqual(recordsOf(lines), ['ok 1', 'ok 2', 'ok 3', 'long', 'z'.repeat(30), 'z'.repeat(30), 'ok 4']);
  assert.deepEqual(errorsOf(lines), [[1, 'invalid_utf8'], [2, 'binary'], [3, 'line_too_long'], [6, 'invalid_utf8']]);
  const paragraphs = await collect(parseText(chunked(bytes, [3, 6, 7, 30]), { split: 'paragraph', limits: { maxRecordBytes: 40 } }));
  assert.deepEqual(recordsOf(paragraphs), ['ok 4']);
  assert.deepEqual(errorsOf(paragraphs), [[0, 'invalid_utf8'], [1, 'invalid_utf8'], [2, 'line_too_long']]);
  assert.match((paragraphs[1] as { error: { message: string } }).error.message, /line 8 is not valid UTF-8 \(in the paragraph starting on line 7\)/);
});

test('an empty file, a BOM', async () => {
  assert.deepEqual(await collect(parseText(chunked(new Uint8Array(0)))), []);
  assert.deepEqual(recordsOf(await collect(parseText(chunked(bytesFrom([0xef, 0xbb, 0xbf], 'hi'), [1])))), ['hi']);
});

test('property: chunking never changes the items, in either mode', async () => {
  const part = fc.constantFrom(...['word', 'é', '😀', ' ', '\n', '\r\n', '\n\n', '\t'].map(utf8), Uint8Array.from([0xff]), Uint8Array.from([0]));
  const file = fc.array(part, { maxLength: 40 }).map((parts) => bytesFrom(...parts));
  await fc.assert(
    fc.asyncProperty(file, fc.array(fc.nat(120), { maxLength: 15 }), fc.constantFrom('line', 'paragraph' as const), fc.constantFrom(8, 1 << 20), async (bytes, cuts, split, maxRecordBytes) => {
      const options = { split: split as 'line' | 'paragraph', limits: { maxRecordBytes } };
      assert.deepEqual(await collect(parseText(chunked(bytes, cuts), options)), await collect(parseText(chunked(bytes), options)));
    }),
    { numRuns: 150 },
  );
});
