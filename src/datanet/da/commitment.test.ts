import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concatHex, keccak256, toHex, type Hex } from 'viem';
import {
  EIP4844_DA_LAYER,
  commitmentOfDaURI,
  daURI,
  decodeCommitment,
  genericCommitment,
  keccakCommitment,
  keccakCommitmentOfHash,
  verifyKeccakCommitment,
} from './commitment.ts';
import { DaCommitmentMismatchError, DaInvalidCommitmentError } from './errors.ts';

const data = new TextEncoder().encode('batch payload');

test('the keccak commitment is 0x00 followed by keccak256(data): 33 bytes', () => {
  const c = keccakCommitment(data);
  assert.equal(c, concatHex(['0x00', keccak256(data)]));
  assert.equal(c.length, 2 + 66);
  assert.equal(keccakCommitmentOfHash(keccak256(data)), c);
  assert.deepEqual(decodeCommitment(c), { type: 'keccak256', dataHash: keccak256(data) });
  // A fixed vector: keccak256 of the empty string.
  assert.equal(keccakCommitment(new Uint8Array()), '0x00c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
});

test('a generic commitment is 0x01, the DA layer byte, then its payload (EigenDA: 0x01 0x00 …)', () => {
  const versionedHash = ('0x01' + 'ab'.repeat(31)) as Hex;
  const c = genericCommitment(EIP4844_DA_LAYER, versionedHash);
  assert.equal(c, `0x0148${versionedHash.slice(2)}`);
  assert.deepEqual(decodeCommitment(c), { type: 'generic', daLayer: 0x48, payload: versionedHash });
  assert.deepEqual(decodeCommitment('0x010000cafe'), { type: 'generic', daLayer: 0, payload: '0x00cafe' });
  assert.throws(() => genericCommitment(127, '0x01'), DaInvalidCommitmentError);
  assert.throws(() => genericCommitment(0, '0x'), DaInvalidCommitmentError);
});

test('malformed commitments are refused: empty, not hex, odd length, unknown type, wrong keccak length, generic without payload', () => {
  for (const bad of ['0x', '0xzz', '0x0', '0x02' + '00'.repeat(32), '0x00' + '00'.repeat(31), '0x00' + '00'.repeat(33), '0x0100', 'nothex']) {
    assert.throws(() => decodeCommitment(bad as Hex), DaInvalidCommitmentError, bad);
  }
  assert.throws(() => keccakCommitmentOfHash('0x1234'), DaInvalidCommitmentError);
});

test('verifyKeccakCommitment returns matching data and refuses a changed byte', () => {
  const c = keccakCommitment(data);
  assert.equal(verifyKeccakCommitment(c, data), data);
  assert.equal(verifyKeccakCommitment(c.toUpperCase().replace('0X', '0x') as Hex, data), data);
  const tampered = data.slice();
  tampered[0]! ^= 1;
  assert.throws(() => verifyKeccakCommitment(c, tampered), DaCommitmentMismatchError);
});

test('daURI names a commitment; commitmentOfDaURI reads it back and ignores other URIs', () => {
  const c = keccakCommitment(data);
  assert.equal(daURI(c), `altda:${c}`);
  assert.equal(commitmentOfDaURI(daURI(c)), c);
  assert.equal(commitmentOfDaURI(`openledger://blob/${keccak256(data)}`), undefined);
  assert.equal(commitmentOfDaURI('altda:0x02ff'), undefined);
  assert.throws(() => daURI(toHex('x')), DaInvalidCommitmentError);
});
