import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { csvBoundary } from './csv-boundary.ts';
import { lineBoundary, RecordSplitter, type Boundary, type Piece } from './record-splitter.ts';
import { bytesFrom, utf8 } from './testing.ts';

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');
/** The pieces of `bytes` cut at `cuts`, with record bytes as latin1 strings for comparison. */
function split(bytes: Uint8Array, cuts: number[], max = 1 << 20, boundary: Boundary = lineBoundary()) {
  const splitter = new RecordSplitter(boundary, max);
  const pieces: Piece[] = [];
  let from = 0;
  for (const to of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    if (to > from) pieces.push(...splitter.push(bytes.slice(from, to)));
    from = Math.max(from, to);
  }
  pieces.push(...splitter.end());
  return pieces.map((p) => (p.kind === 'record' ? { line: p.line, text: text(p.bytes) } : { line: p.line, tooLong: p.size }));
}

test('lines end at LF or CRLF; the last line needs no line ending; line numbers count every line', () => {
  assert.deepEqual(split(utf8('a\nbb\r\n\nc'), []), [
    { line: 1, text: 'a' },
    { line: 2, text: 'bb' },
    { line: 3, text: '' },
    { line: 4, text: 'c' },
  ]);
  assert.deepEqual(split(utf8('a\n'), []), [{ line: 1, text: 'a' }], 'a final LF does not start a record');
  assert.deepEqual(split(utf8(''), []), []);
  assert.deepEqual(split(utf8('a\rb\n'), []), [{ line: 1, text: 'a\rb' }], 'a lone CR is not a line ending');
});

test('a UTF-8 byte order mark is dropped at the start only, even when cut across chunks', () => {
  const bom = [0xef, 0xbb, 0xbf];
  for (const cuts of [[], [1], [2], [1, 2], [3]]) {
    assert.deepEqual(split(bytesFrom(bom, 'x\n', bom, 'y'), cuts), [{ line: 1, text: 'x' }, { line: 2, text: '\xef\xbb\xbfy' }]);
  }
  assert.deepEqual(split(Uint8Array.from([0xef, 0xbb]), []), [{ line: 1, text: '\xef\xbb' }], 'a file of a partial BOM keeps its bytes');
  assert.deepEqual(split(bytesFrom([0xef], 'a'), [1]), [{ line: 1, text: '\xefa' }]);
});

test('the record limit counts bytes without the line ending, and a longer record is skipped to its end', () => {
  assert.deepEqual(split(utf8('abcd\r\nabcde\nabc'), [], 4), [
    { line: 1, text: 'abcd' },
    { line: 2, tooLong: 5 },
    { line: 3, text: 'abc' },
  ]);
  for (const cuts of [[1], [4], [5], [6], [9], [2, 3, 4, 5, 6, 7, 8, 9, 10]]) {
    assert.deepEqual(split(utf8('abcd\r\nabcde\nabc'), cuts, 4), split(utf8('abcd\r\nabcde\nabc'), [], 4), `cuts ${cuts}`);
  }
  assert.deepEqual(split(utf8('abcdefgh'), [2, 5], 4), [{ line: 1, tooLong: 8 }], 'a long last line');
});

test('a long line is not held: memory stays flat while 64 MiB without a line feed go by', () => {
  const splitter = new RecordSplitter(lineBoundary(), 1 << 20);
  const chunk = new Uint8Array(1 << 16).fill(0x61);
  const before = process.memoryUsage().arrayBuffers;
  let pieces: Piece[] = [];
  for (let i = 0; i < 1024; i++) pieces.push(...splitter.push(chunk));
  const during = process.memoryUsage().arrayBuffers;
  pieces = [...pieces, ...splitter.push(utf8('\nok')), ...splitter.end()];
  assert.ok(during - before < 8 << 20, `held ${during - before} bytes`);
  assert.deepEqual(pieces.map((p) => p.kind), ['too_long', 'record']);
  assert.equal(pieces[0]!.kind === 'too_long' && pieces[0]!.size, 64 << 20);
});

test('CSV rows: line feeds inside quoted fields do not end a row, and are counted for line numbers', () => {
  const csv = utf8('a,"x\ny",c\r\n"q""\n""",2\n"unclosed,\n\n');
  assert.deepEqual(split(csv, [], 1 << 20, csvBoundary(',')), [
    { line: 1, text: 'a,"x\ny",c' },
    { line: 3, text: '"q""\n""",2' },
    { line: 5, text: '"unclosed,\n\n' },
  ]);
  assert.deepEqual(split(utf8('a"b\nc'), [], 100, csvBoundary(',')), [{ line: 1, text: 'a"b' }, { line: 2, text: 'c' }], 'a quote inside a field opens nothing');
  assert.deepEqual(split(utf8('a\t"b\nc"\n'), [], 100, csvBoundary('\t')), [{ line: 1, text: 'a\t"b\nc"' }]);
});

/** The CSV rows of `bytes` by the rules, byte by byte: a reference for `csvBoundary`, which skips ahead with indexOf. */
function referenceCsvRows(bytes: Uint8Array): string[] {
  const rows: string[] = [];
  let quoting = false, quoteSeen = false, fieldStart = true, start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (quoting) {
      if (!quoteSeen) {
        if (b === 0x22) quoteSeen = true;
        continue;
      }
      quoteSeen = false;
      if (b === 0x22) continue;
      quoting = false;
      fieldStart = false;
    }
    if (b === 0x0a) {
      rows.push(text(bytes.subarray(start, i)).replace(/\r$/, ''));
      start = i + 1;
      fieldStart = true;
    } else if (b === 0x22 && fieldStart) {
      quoting = true;
      fieldStart = false;
    } else fieldStart = b === 0x2c;
  }
  if (start < bytes.length) rows.push(text(bytes.subarray(start)).replace(/\r$/, ''));
  return rows;
}

test('property: CSV rows end where a byte-by-byte reading of RFC 4180 says', () => {
  const part = fc.constantFrom(...['a', '"', '""', ',', '\n', '\r\n', ' ', 'é'].map(utf8));
  fc.assert(
    fc.property(fc.array(part, { maxLength: 50 }), fc.array(fc.nat(100), { maxLength: 10 }), (parts, cuts) => {
      const bytes = bytesFrom(...parts);
      const rows = split(bytes, cuts, 1 << 20, csvBoundary(',')).map((p) => ('text' in p ? p.text : '?'));
      assert.deepEqual(rows, referenceCsvRows(bytes));
    }),
    { numRuns: 300 },
  );
});

test('property: how the bytes are chunked never changes the pieces (lines and CSV rows)', () => {
  const alphabet = fc.constantFrom(...['a', 'é', '€', '😀', '\n', '\r\n', '\r', '"', ',', ' ', '\ufeff'].map(utf8), Uint8Array.from([0xff]), Uint8Array.from([0xef, 0xbb, 0xbf]));
  const input = fc.array(alphabet, { maxLength: 60 }).map((parts) => bytesFrom(...parts));
  fc.assert(
    fc.property(input, fc.array(fc.nat(200)), fc.integer({ min: 1, max: 12 }), fc.boolean(), (bytes, cuts, max, csv) => {
      const boundary = () => (csv ? csvBoundary(',') : lineBoundary());
      assert.deepEqual(split(bytes, cuts, max, boundary()), split(bytes, [], max, boundary()));
    }),
    { numRuns: 300 },
  );
});
