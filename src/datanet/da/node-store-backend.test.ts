import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { keccak256 } from 'viem';
import { diskBlobPath } from '../../store/blob-disk.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { openBlobStore } from '../../store/blobs.ts';
import { genericCommitment, keccakCommitment } from './commitment.ts';
import { DaCommitmentMismatchError, DaInvalidCommitmentError, DaNotFoundError, DaUnsupportedCommitmentError } from './errors.ts';
import { nodeStoreBackend } from './node-store-backend.ts';

let dataDir: string;
let blobs: BlobStore;
before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'openledger-da-store-'));
  blobs = await openBlobStore({ dataDir });
});
after(async () => {
  await blobs.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test('node store backend: put gives the keccak commitment of the blob; get returns the bytes', async () => {
  const da = nodeStoreBackend(blobs);
  const data = new TextEncoder().encode('records of one batch');
  const commitment = await da.put(data);
  assert.equal(commitment, keccakCommitment(data));
  assert.equal(await blobs.has(keccak256(data)), true);
  assert.deepEqual(await da.get(commitment), data);
  assert.equal(await da.put(data), commitment); // idempotent
});

test('node store backend refuses a damaged stored copy, unknown data and commitments it cannot serve', async () => {
  const da = nodeStoreBackend(blobs);
  const data = new TextEncoder().encode('data that will be damaged on disk');
  const commitment = await da.put(data);
  const path = diskBlobPath(dataDir, keccak256(data));
  const stored = readFileSync(path);
  stored[3]! ^= 0x20;
  writeFileSync(path, stored);
  await assert.rejects(da.get(commitment), DaCommitmentMismatchError);
  await assert.rejects(da.get(keccakCommitment(new TextEncoder().encode('never stored'))), DaNotFoundError);
  await assert.rejects(da.get(genericCommitment(0, '0x00cafe')), DaUnsupportedCommitmentError);
  await assert.rejects(da.get('0x05'), DaInvalidCommitmentError);
});
