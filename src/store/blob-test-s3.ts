import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { S3BlobStoreOptions } from './blob-s3.ts';

/** A throw-away S3-compatible server (s3rver) for tests, in its own process on 127.0.0.1. */
export interface TestS3Server {
  endpoint: string;
  /** Options for a store in a fresh bucket of this server (created at open). */
  storeOptions(bucket: string): S3BlobStoreOptions;
  stop(): Promise<void>;
}

const CHILD = `
import S3rver from 's3rver';
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.env.S3RVER_DIR });
const { port } = await server.run();
console.log(JSON.stringify({ port }));
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

/**
 * Starts s3rver (the npm S3 server, files in a temporary directory) in a child process on a free
 * 127.0.0.1 port; a separate process, so that the tests measure the client's memory alone and talk
 * to the server over real HTTP. The child exits when this process does (its stdin closes).
 *
 * @example
 * const s3 = await startTestS3Server();
 * const blobs = await openS3BlobStore(s3.storeOptions('test-1'));
 * await s3.stop();
 */
export async function startTestS3Server(): Promise<TestS3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'openledger-s3rver-'));
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: root,
    env: { ...process.env, S3RVER_DIR: dir },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code} before listening`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    storeOptions: (bucket) => ({
      bucket,
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      createBucket: true,
      partSize: 5 * 1024 ** 2,
      queueSize: 1,
    }),
    async stop() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
