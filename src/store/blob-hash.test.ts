import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { keccak256, sha256, toHex } from 'viem';
import { InvalidBlobHashError } from './blob-errors.ts';
import { createBlobHasher, hashBlob, isBlobHash, toBlobHash } from './blob-hash.ts';

describe('blob hash', () => {
  it('is keccak256 as the contracts and viem compute it (not NIST SHA3-256)', async () => {
    assert.equal(await hashBlob(new Uint8Array(0)), '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
    assert.equal(await hashBlob(new TextEncoder().encode('hello')), keccak256(toHex('hello')));
    for (const size of [1, 135, 136, 137, 271, 272, 273, 10_000]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 131 + size) & 0xff);
      assert.equal(await hashBlob(bytes), keccak256(bytes), `size ${size}`);
      assert.notEqual(await hashBlob(bytes), sha256(bytes));
    }
  });

  it('gives the same address however the content is cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(2000), { maxLength: 8 }), async (bytes, cuts) => {
        const hasher = await createBlobHasher();
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let last = 0;
        for (const point of [...points, bytes.length]) {
          hasher.update(bytes.subarray(last, point));
          last = point;
        }
        assert.equal(hasher.digest(), keccak256(bytes));
      }),
      { numRuns: 100 },
    );
  });

  it('keeps concurrent hashers apart (puts running at once interleave their updates)', async () => {
    const [a, b] = await Promise.all([createBlobHasher(), createBlobHasher()]);
    const x = new Uint8Array(5000).fill(1);
    const y = new Uint8Array(5000).fill(2);
    for (let i = 0; i < 5000; i += 500) {
      a.update(x.subarray(i, i + 500));
      b.update(y.subarray(i, i + 500));
    }
    assert.equal(a.digest(), keccak256(x));
    assert.equal(b.digest(), keccak256(y));
  });

  it('accepts 0x + 64 hex digits in either case, returning them in lowercase', () => {
    const lower = `0x${'ab'.repeat(32)}`;
    assert.equal(isBlobHash(lower), true);
    assert.equal(toBlobHash(`0x${'AB'.repeat(32)}`), lower);
    for (const bad of ['', '0x', 'ab'.repeat(32), `0X${'ab'.repeat(32)}`, `0x${'ab'.repeat(31)}`, `0x${'ab'.repeat(33)}`, `0x${'zz'.repeat(32)}`, `0x${'ab'.repeat(32)}\n`, 42, null, undefined]) {
      assert.equal(isBlobHash(bad), false, String(bad));
      assert.throws(() => toBlobHash(bad), InvalidBlobHashError);
    }
  });
});
