import { closeSync, fsyncSync, openSync } from 'node:fs';

/**
 * Flushes a directory's entries to disk: after a rename into it (write-file-atomic's last step),
 * the new name is durable only once the directory is synced — before that, a power cut can bring
 * back the old file even though the rename returned.
 *
 * @example
 * await writeFileAtomic(path, data);
 * fsyncDir(dirname(path));
 */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
