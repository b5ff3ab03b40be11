import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { keccak256 } from 'viem';
import { diskBlobPath, openDiskBlobStore } from './blob-disk.ts';
import { blobStoreSuite, type BlobStoreFixture } from './blob-store-suite.ts';

const MiB = 1024 ** 2;

/** A pid that no process has any more: a child that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

function diskFixture(): BlobStoreFixture & { dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'openledger-blobs-'));
  const tempDir = join(dataDir, 'blobs', 'tmp');
  return {
    dataDir,
    config: { dataDir },
    open: () => openDiskBlobStore({ dataDir }),
    async corrupt(hash, offset) {
      const path = diskBlobPath(dataDir, hash);
      const bytes = readFileSync(path);
      bytes[offset] = bytes[offset]! ^ 0xff;
      writeFileSync(path, bytes);
    },
    async leaveCrashDebris(partial) {
      writeFileSync(join(tempDir, `${deadPid()}-0123456789abcdef.tmp`), partial);
    },
    debris: async () => readdirSync(tempDir),
    killLeavesDebris: true,
    streamingBudget: 4 * MiB,
    async cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

blobStoreSuite('disk', async () => diskFixture());

describe('disk blob store', () => {
  it('keeps each blob at blobs/ab/cd/<64 hex digits>, and nothing else', async () => {
    const fixture = diskFixture();
    try {
      const store = await fixture.open();
      const content = new TextEncoder().encode('where does it go?');
      const { hash } = await store.put(content);
      const hex = hash.slice(2);
      const path = join(fixture.dataDir, 'blobs', hex.slice(0, 2), hex.slice(2, 4), hex);
      assert.equal(diskBlobPath(fixture.dataDir, hash), path);
      assert.deepEqual(new Uint8Array(readFileSync(path)), content);
      assert.deepEqual(readdirSync(join(fixture.dataDir, 'blobs')).sort(), [hex.slice(0, 2), 'tmp'].sort());
      assert.deepEqual(readdirSync(join(fixture.dataDir, 'blobs', 'tmp')), []);
    } finally {
      await fixture.cleanup();
    }
  });

  it('at open, removes only temporary files whose writer is gone or that are a day old', async () => {
    const fixture = diskFixture();
    try {
      await fixture.open();
      const tempDir = join(fixture.dataDir, 'blobs', 'tmp');
      const live = `${process.pid}-aaaa.tmp`;
      const dead = `${deadPid()}-bbbb.tmp`;
      const stale = `${process.pid}-cccc.tmp`;
      const foreign = 'not-ours';
      for (const name of [live, dead, stale, foreign]) writeFileSync(join(tempDir, name), 'partial');
      const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
      utimesSync(join(tempDir, stale), twoDaysAgo, twoDaysAgo);
      await fixture.open();
      assert.deepEqual(readdirSync(tempDir), [live]);
    } finally {
      await fixture.cleanup();
    }
  });

  it('replaces a stored copy whose size is wrong when the content is put again', async () => {
    const fixture = diskFixture();
    try {
      const store = await fixture.open();
      const content = new Uint8Array(10_000).fill(7);
      const { hash } = await store.put(content);
      truncateSync(diskBlobPath(fixture.dataDir, hash), 5_000);
      assert.equal((await store.put(content)).created, true);
      assert.deepEqual(await store.get(hash), content);
    } finally {
      await fixture.cleanup();
    }
  });

  it('lists only well-formed blobs in their own shard', async () => {
    const fixture = diskFixture();
    try {
      const store = await fixture.open();
      const { hash } = await store.put(new TextEncoder().encode('real'));
      const blobs = join(fixture.dataDir, 'blobs');
      writeFileSync(join(blobs, 'README'), 'stray');
      mkdirSync(join(blobs, '00', '00'), { recursive: true });
      writeFileSync(join(blobs, '00', '00', keccak256(new Uint8Array([1])).slice(2)), 'misplaced'); // wrong shard for its name
      writeFileSync(join(blobs, '00', '00', 'notes.txt'), 'stray');
      const listed = [];
      for await (const h of store.list()) listed.push(h);
      assert.deepEqual(listed, [hash]);
    } finally {
      await fixture.cleanup();
    }
  });
});
