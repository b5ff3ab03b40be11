import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { bytesOf } from './byte-source.ts';
import type { ByteSource } from './types.ts';

/** An upload written to a temporary file, for formats that need to seek (Parquet). */
export interface Spooled {
  path: string;
  bytes: number;
  /** Deletes the file and its folder. */
  remove(): Promise<void>;
}

/**
 * Writes `source` to a new file in a fresh folder under `dir` (default: the system's temporary
 * folder), chunk by chunk with back-pressure. If the source fails (for instance
 * `file_too_large`), the file is removed and the error rethrown.
 *
 * @example
 * const spooled = await spool(request.file);
 * try { await readParquetFrom(spooled.path); } finally { await spooled.remove(); }
 */
export async function spool(source: ByteSource, dir: string = tmpdir()): Promise<Spooled> {
  const folder = await mkdtemp(join(dir, 'openledger-intake-'));
  const remove = () => rm(folder, { recursive: true, force: true });
  const path = join(folder, 'upload');
  let bytes = 0;
  const counted = async function* () {
    for await (const chunk of bytesOf(source)) {
      bytes += chunk.length;
      yield chunk;
    }
  };
  try {
    await pipeline(counted(), createWriteStream(path));
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, bytes, remove };
}

/** Random access to a file, as hyparquet's `AsyncBuffer`, through one open file handle. */
export interface FileSlices {
  byteLength: number;
  slice(start: number, end?: number): Promise<ArrayBuffer>;
  close(): Promise<void>;
}

/**
 * Opens `path` for reads at any offset.
 *
 * @example
 * const file = await openSlices(spooled.path);
 * const footer = await file.slice(file.byteLength - 8);
 */
export async function openSlices(path: string): Promise<FileSlices> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    byteLength: size,
    async slice(start, end = size) {
      const from = Math.max(0, Math.min(start, size));
      const length = Math.max(0, Math.min(end, size) - from);
      const buffer = new ArrayBuffer(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(new Uint8Array(buffer, done), 0, length - done, from + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buffer;
    },
    close: () => handle.close(),
  };
}
