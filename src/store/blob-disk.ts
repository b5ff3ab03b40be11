import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { BlobCorruptError, BlobNotFoundError } from './blob-errors.ts';
import { createBlobHasher, toBlobHash, type BlobHash } from './blob-hash.ts';
import type { BlobStore } from './blob-store.ts';
import { chunksOf, createBlobMeter, createVerifier } from './blob-stream.ts';

/** Options of {@link openDiskBlobStore}. */
export interface DiskBlobStoreOptions {
  /** The node's data directory: blobs live in `<dataDir>/blobs`. */
  dataDir: string;
}

/** Folder of in-progress writes, beside the shard folders (so on the same file system: renames are atomic). */
const TEMP = 'tmp';
/** A temporary file: `<pid of the writer>-<random>.tmp`. */
const TEMP_NAME = /^(\d+)-[0-9a-f]+\.tmp$/;
/** A temporary file untouched this long is removed at open even if its writer's pid is alive (pid reuse, other pid namespaces). */
const STALE_TEMP_MS = 24 * 3600 * 1000;
const READ_CHUNK = 1 << 20;
const SHARD = /^[0-9a-f]{2}$/;
const NAME = /^[0-9a-f]{64}$/;

/**
 * Where a blob lives under a disk store's data directory: `<dataDir>/blobs/ab/cd/abcd…` (the 64 hex
 * digits of the hash, sharded by the first two bytes so no folder grows past a few entries per
 * 65,536 blobs). Reading the file directly skips verification.
 *
 * @example
 * diskBlobPath('.openledger', hash); // '.openledger/blobs/3f/a0/3fa0…'
 */
export function diskBlobPath(dataDir: string, hash: BlobHash): string {
  const hex = toBlobHash(hash).slice(2);
  return join(dataDir, 'blobs', hex.slice(0, 2), hex.slice(2, 4), hex);
}

/**
 * Opens the local-disk blob store in `<dataDir>/blobs` (created if missing), first removing what
 * crashed writes left behind: temporary files whose writing process is gone.
 *
 * Every write goes to a temporary file in `blobs/tmp/` (hashed as it is written, since a stream's
 * address is known only at its end), is fsynced, then renamed to its final name, and the folder is
 * fsynced: after a crash at any point the final name holds the whole blob or does not exist.
 *
 * @example
 * const blobs = await openDiskBlobStore({ dataDir: '.openledger' });
 * const { hash } = await blobs.put(createReadStream('upload.jsonl'));
 * const bytes = await blobs.get(hash);
 */
export async function openDiskBlobStore(options: DiskBlobStoreOptions): Promise<BlobStore> {
  const root = join(options.dataDir, 'blobs');
  const tempDir = join(root, TEMP);
  await mkdir(tempDir, { recursive: true });
  await removeCrashDebris(tempDir);

  const pathOf = (hash: BlobHash) => diskBlobPath(options.dataDir, hash);

  /** Creates a temporary file, fills it, makes it durable; removes it if anything fails. */
  const writeTemp = async (fill: (file: FileHandle) => Promise<void>): Promise<string> => {
    const temp = join(tempDir, `${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
    const file = await open(temp, 'wx');
    try {
      await fill(file);
      await file.sync();
    } catch (err) {
      await file.close().catch(() => {});
      await rm(temp, { force: true });
      throw err;
    }
    await file.close();
    return temp;
  };

  /** Moves a complete temporary file to the blob's name unless an intact-looking copy is there; resolves to whether it moved it. */
  const commit = async (temp: string, hash: BlobHash, size: number): Promise<boolean> => {
    try {
      const final = pathOf(hash);
      if ((await storedSize(final)) === size) {
        await rm(temp, { force: true });
        return false;
      }
      const shard = dirname(final);
      if ((await mkdir(shard, { recursive: true })) !== undefined) {
        await fsyncDir(root);
        await fsyncDir(dirname(shard));
      }
      await rename(temp, final);
      await fsyncDir(shard);
      return true;
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  };

  return {
    kind: 'disk',

    async put(source, putOptions) {
      const meter = await createBlobMeter(putOptions);
      if (source instanceof Uint8Array) {
        meter.add(source);
        const { hash, size } = meter.finish();
        if ((await storedSize(pathOf(hash))) === size) return { hash, size, created: false };
        const temp = await writeTemp((file) => writeAll(file, source));
        return { hash, size, created: await commit(temp, hash, size) };
      }
      const temp = await writeTemp(async (file) => {
        for await (const chunk of chunksOf(source)) {
          const written = writeAll(file, chunk);
          try {
            meter.add(chunk); // hashes while the write is under way in libuv's thread pool
          } finally {
            await written;
          }
        }
      });
      let result;
      try {
        result = meter.finish();
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      return { ...result, created: await commit(temp, result.hash, result.size) };
    },

    async get(hash) {
      const h = toBlobHash(hash);
      const file = await openBlob(pathOf(h), h);
      try {
        const { size } = await file.stat();
        const buffer = Buffer.allocUnsafeSlow(size); // not zero-filled: every byte is read over, or the hash fails
        const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, size);
        const hasher = await createBlobHasher();
        let offset = 0;
        let reading = size > 0 ? file.read(bytes, 0, Math.min(READ_CHUNK, size), 0) : undefined;
        while (reading) {
          const { bytesRead } = await reading;
          if (bytesRead === 0) break;
          const start = offset;
          offset += bytesRead;
          reading = offset < size ? file.read(bytes, offset, Math.min(READ_CHUNK, size - offset), offset) : undefined;
          hasher.update(bytes.subarray(start, offset)); // hashes this chunk while the next one is read
        }
        const actual = hasher.digest();
        if (actual !== h) throw new BlobCorruptError(h, actual, offset);
        return bytes;
      } finally {
        await file.close();
      }
    },

    async open(hash) {
      const h = toBlobHash(hash);
      const verifier = await createVerifier(h);
      const file = await openBlob(pathOf(h), h);
      pipeline(file.createReadStream({ highWaterMark: READ_CHUNK }), verifier, () => {});
      return verifier as Readable;
    },

    async has(hash) {
      return (await storedSize(pathOf(toBlobHash(hash)))) !== undefined;
    },

    async size(hash) {
      const h = toBlobHash(hash);
      const size = await storedSize(pathOf(h));
      if (size === undefined) throw new BlobNotFoundError(h);
      return size;
    },

    async delete(hash) {
      const path = pathOf(toBlobHash(hash));
      try {
        await unlink(path);
      } catch (err) {
        if (isCode(err, 'ENOENT')) return false;
        throw err;
      }
      await fsyncDir(dirname(path));
      return true;
    },

    async *list() {
      for (const a of await sortedEntries(root, SHARD)) {
        for (const b of await sortedEntries(join(root, a), SHARD)) {
          for (const name of await sortedEntries(join(root, a, b), NAME)) {
            if (name.startsWith(a + b)) yield `0x${name}` as BlobHash;
          }
        }
      }
    },

    async close() {},
  };
}

/** Removes temporary files whose writer is gone (or that nobody touched for a day); resolves to how many. */
async function removeCrashDebris(tempDir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tempDir)) {
    const path = join(tempDir, name);
    const pid = TEMP_NAME.exec(name)?.[1];
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    const stale = Date.now() - st.mtimeMs > STALE_TEMP_MS;
    if (pid !== undefined && isAlive(Number(pid)) && !stale) continue;
    await rm(path, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isCode(err, 'EPERM');
  }
}

async function openBlob(path: string, hash: BlobHash): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw new BlobNotFoundError(hash);
    throw err;
  }
}

async function storedSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined;
    throw err;
  }
}

async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Makes a folder's entries (a rename, a new file or folder) durable. */
async function fsyncDir(path: string): Promise<void> {
  let dir: FileHandle;
  try {
    dir = await open(path, 'r');
  } catch (err) {
    if (isCode(err, 'EISDIR') || isCode(err, 'EPERM')) return; // Windows cannot open folders
    throw err;
  }
  try {
    await dir.sync();
  } catch (err) {
    if (!isCode(err, 'EINVAL') && !isCode(err, 'EPERM')) throw err; // some file systems refuse folder fsync
  } finally {
    await dir.close();
  }
}

async function sortedEntries(path: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await readdir(path)).filter((name) => pattern.test(name)).sort();
  } catch (err) {
    if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return [];
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}
