import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { contentHashesOf } from '../../../../src/datanet/consent.ts';
import { parseUpload } from '../../../../src/datanet/intake/parse-upload.ts';
import { fileRecordHashes } from './sign-records.ts';

/** What the node reads from the same bytes (parseUpload: Parquet through a temporary file). */
const nodeHashes = (name: string, bytes: Uint8Array) => contentHashesOf(parseUpload({ filename: name, stream: [bytes] }));

test("the web app reads a file to the same records as the node, in every format, so the node accepts the contributor's signature", async () => {
  const files: Record<string, Uint8Array> = {
    'qa.jsonl': new TextEncoder().encode('{"q":"a","n":1}\n{"q":"b"}\nnot json\n{"q":"c","x":[1,2]}'),
    'qa.csv': new TextEncoder().encode('question,answer\n"why, then?",because\nhow,"with ""quotes"""\nbroken,"x\n'),
    'qa.tsv': new TextEncoder().encode('question\tanswer\nwhy\tbecause\nhow\tslowly\n'),
    'notes.txt': new TextEncoder().encode('first line\n\nsecond line with ünïcödé\n'),
    'rows.parquet': new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'q', data: ['a', 'b', 'c'] }, { name: 'n', data: [1, 2, 3], type: 'INT32' }, { name: 'b', data: [new Uint8Array([1, 2]), null, new Uint8Array([255])] }] })),
  };
  for (const [name, bytes] of Object.entries(files)) {
    const seen: number[] = [];
    const web = await fileRecordHashes({ file: new File([bytes as BlobPart], name), onRecords: (n) => seen.push(n) });
    assert.deepEqual(web, await nodeHashes(name, bytes), name);
    assert.ok(web.length > 0, `${name} has records`);
    assert.equal(seen.at(-1), web.length, `${name}: the last count is every record`);
  }
});
