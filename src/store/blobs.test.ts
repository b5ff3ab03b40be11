import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { startTestS3Server } from './blob-test-s3.ts';
import { diskBlobPath, openBlobStore } from './blobs.ts';

it('openBlobStore opens the disk store for { dataDir } and the S3 store for { s3 }', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'openledger-blobs-'));
  const s3 = await startTestS3Server();
  try {
    const disk = await openBlobStore({ dataDir });
    assert.equal(disk.kind, 'disk');
    const { hash } = await disk.put(new TextEncoder().encode('on disk'));
    assert.ok(existsSync(diskBlobPath(dataDir, hash)));
    await disk.close();

    const bucket = await openBlobStore({ s3: s3.storeOptions('factory') });
    assert.equal(bucket.kind, 's3');
    const put = await bucket.put(new TextEncoder().encode('on disk'));
    assert.equal(put.hash, hash, 'one address, whatever the backend');
    assert.equal(new TextDecoder().decode(await bucket.get(hash)), 'on disk');
    await bucket.close();
  } finally {
    await s3.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
