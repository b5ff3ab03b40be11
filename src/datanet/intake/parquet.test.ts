import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { brotliCompressSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { MAX_PARQUET_ROW_GROUP_ROWS, parseParquet } from './parquet.ts';
import { chunked, collect, errorsOf, recordsOf, tempDir } from './testing.ts';

const N = 250;
const columns = () => [
  { name: 'id', data: Array.from({ length: N }, (_, i) => BigInt(i)), type: 'INT64' as const },
  { name: 'big', data: Array.from({ length: N }, (_, i) => (i === 0 ? 2n ** 62n : BigInt(-i))), type: 'INT64' as const },
  { name: 'question', data: Array.from({ length: N }, (_, i) => `why ${i}? ✓`), type: 'STRING' as const },
  { name: 'score', data: Array.from({ length: N }, (_, i) => (i === 1 ? NaN : i / 4)), type: 'DOUBLE' as const },
  { name: 'ok', data: Array.from({ length: N }, (_, i) => i % 2 === 0), type: 'BOOLEAN' as const },
  { name: 'at', data: Array.from({ length: N }, (_, i) => new Date(Date.UTC(2026, 0, 1) + i * 1000)), type: 'TIMESTAMP' as const },
  { name: 'note', data: Array.from({ length: N }, (_, i) => (i % 3 === 0 ? null : `n${i}`)), type: 'STRING' as const, nullable: true },
];
const expected = (i: number) => ({
  id: i,
  big: i === 0 ? '4611686018427387904' : -i,
  question: `why ${i}? ✓`,
  score: i === 1 ? null : i / 4,
  ok: i % 2 === 0,
  at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  note: i % 3 === 0 ? null : `n${i}`,
});

const writers = {
  GZIP: (input: Uint8Array) => gzipSync(input),
  ZSTD: (input: Uint8Array) => zstdCompressSync(input),
  BROTLI: (input: Uint8Array) => brotliCompressSync(input),
};

function parquetFile(codec: 'SNAPPY' | 'UNCOMPRESSED' | 'GZIP' | 'ZSTD' | 'BROTLI', rowGroupSize = 100): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({ columnData: columns(), codec, compressors: writers, rowGroupSize }));
}

test('Parquet files with each common compression: rows become JSON records, row group by row group', async () => {
  const { dir, remove } = await tempDir();
  try {
    for (const codec of ['SNAPPY', 'UNCOMPRESSED', 'GZIP', 'ZSTD', 'BROTLI'] as const) {
      const path = join(dir, `${codec}.parquet`);
      const bytes = parquetFile(codec);
      await writeFile(path, bytes);
      assert.equal(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups.length, 3);
      assert.equal(parquetMetadata(bytes.buffer as ArrayBuffer).row_groups[0]!.columns[0]!.meta_data!.codec, codec);
      const items = await collect(parseParquet(createReadStream(path, { highWaterMark: 4096 }), { tmpDir: dir }));
      assert.deepEqual(recordsOf(items), Array.from({ length: N }, (_, i) => expected(i)), codec);
      assert.deepEqual(items[7], { index: 7, record: expected(7), bytes: Buffer.byteLength(JSON.stringify(expected(7))) });
    }
    assert.deepEqual((await readdir(dir)).sort(), ['BROTLI.parquet', 'GZIP.parquet', 'SNAPPY.parquet', 'UNCOMPRESSED.parquet', 'ZSTD.parquet'], 'the temporary copies are gone');
  } finally {
    await remove();
  }
});

test('a file that is not Parquet, or is cut short, is one fatal malformed_parquet item', async () => {
  const good = parquetFile('SNAPPY');
  for (const bytes of [new Uint8Array(0), new TextEncoder().encode('{"a":1}\n'), good.subarray(0, good.length - 100)]) {
    const items = await collect(parseParquet(chunked(bytes)));
    assert.equal(items.length, 1);
    assert.ok('error' in items[0]! && items[0].fatal && items[0].error.code === 'malformed_parquet');
  }
});

test('damage in a later row group: the rows before it are kept, then one fatal item', async () => {
  const bytes = parquetFile('SNAPPY').slice();
  const meta = parquetMetadata(bytes.buffer as ArrayBuffer);
  const chunk = meta.row_groups[2]!.columns[2]!.meta_data!;
  bytes.fill(0xff, Number(chunk.data_page_offset), Number(chunk.data_page_offset) + 16);
  const items = await collect(parseParquet(chunked(bytes, [1000, 2000])));
  assert.deepEqual(recordsOf(items), Array.from({ length: 200 }, (_, i) => expected(i)));
  assert.deepEqual(errorsOf(items), [[200, 'malformed_parquet']]);
  assert.match((items.at(-1) as { error: { message: string } }).error.message, /^row group 2 \(rows 200 to 249\) cannot be read/);
});

test('a row larger than maxRecordBytes as JSON is line_too_long; abandoning the iteration removes the temporary copy', async () => {
  const { dir, remove } = await tempDir();
  try {
    const bytes = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 't', data: ['short', 'x'.repeat(500), 'short again'], type: 'STRING' }] }));
    assert.deepEqual(errorsOf(await collect(parseParquet(chunked(bytes), { limits: { maxRecordBytes: 100 } }))), [[1, 'line_too_long']]);
    for await (const item of parseParquet(chunked(bytes), { tmpDir: dir })) {
      assert.equal((await readdir(dir)).length, 1, 'spooled while reading');
      assert.equal(item.index, 0);
      break;
    }
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await remove();
  }
});

test('DATE columns become YYYY-MM-DD, and a schema given to the writer is read back', async () => {
  const schema = [
    { name: 'root', num_children: 2 },
    { name: 'day', type: 'INT32' as const, converted_type: 'DATE' as const, repetition_type: 'REQUIRED' as const },
    { name: 'label', type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const },
  ];
  const bytes = new Uint8Array(parquetWriteBuffer({ schema, columnData: [{ name: 'day', data: [0, 20454] }, { name: 'label', data: ['a', null] }] }));
  assert.deepEqual(recordsOf(await collect(parseParquet(chunked(bytes)))), [{ day: '1970-01-01', label: 'a' }, { day: '2026-01-01', label: null }]);
});

test('a Parquet bomb — a small file declaring more rows than a row group may hold — is refused before anything is decompressed', async () => {
  // 1,000,001 equal booleans: a few kilobytes on disk, a million objects in memory if decoded
  const rows = MAX_PARQUET_ROW_GROUP_ROWS + 1;
  const bytes = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'flag', data: new Array<boolean>(rows).fill(true), type: 'BOOLEAN' }], rowGroupSize: rows }));
  assert.ok(bytes.length < 1024 * 1024, `${bytes.length} bytes`);
  const items = await collect(parseParquet(chunked(bytes)));
  assert.equal(items.length, 1);
  assert.deepEqual(errorsOf(items), [[0, 'file_too_large']]);
  assert.match((items[0] as { error: { message: string } }).error.message, /row group 0 declares 1000001 rows; at most 1000000/);
});
