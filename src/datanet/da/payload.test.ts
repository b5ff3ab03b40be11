import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getAddress, keccak256, type Address } from 'viem';
import { contributionIdOf } from '../contribution-id.ts';
import { contributionTree } from '../merkle.ts';
import { DaPayloadError } from './errors.ts';
import { DA_PAYLOAD_VERSION, decodeBatchPayload, encodeBatchPayload, type BatchRecord } from './payload.ts';

const alice = getAddress('0x70997970c51812dc3a010c7d01b50e0d17dc79c8');
const bob = getAddress('0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc');
const text = (s: string) => new TextEncoder().encode(s);
const records: BatchRecord[] = [
  { contributor: alice, content: text('{"q":"2+2","a":"4"}') },
  { contributor: bob, content: text('plain text record') },
  { contributor: alice, content: text('') },
  { contributor: bob, content: text('{"q":"2+2","a":"4"}') }, // same content, another contributor: another contribution
];
const idOf = (r: BatchRecord) => contributionIdOf(keccak256(r.content), r.contributor);

test('the payload rebuilds the contribution ids and the Merkle root DatanetRegistry anchors', () => {
  const payload = encodeBatchPayload(records);
  const decoded = decodeBatchPayload(payload);
  const ids = records.map(idOf);
  assert.equal(decoded.root, contributionTree(ids).root);
  assert.deepEqual(decoded.records.map((r) => r.id), [...ids].sort());
  for (const r of decoded.records) {
    const original = records.find((o) => idOf(o) === r.id)!;
    assert.equal(r.contributor, original.contributor);
    assert.deepEqual(r.content, original.content);
    assert.equal(r.contentHash, keccak256(original.content));
  }
});

test('the payload is canonical: any order of the same records gives the same bytes; the layout is as documented', () => {
  const payload = encodeBatchPayload(records);
  assert.deepEqual(encodeBatchPayload([...records].reverse()), payload);
  assert.deepEqual(encodeBatchPayload([records[2]!, records[0]!, records[3]!, records[1]!]), payload);
  const one = encodeBatchPayload([records[1]!]);
  const content = records[1]!.content;
  assert.equal(one.length, 1 + 4 + 20 + 4 + content.length);
  assert.equal(one[0], DA_PAYLOAD_VERSION);
  assert.deepEqual([...one.subarray(1, 5)], [0, 0, 0, 1]);
  assert.equal(`0x${Buffer.from(one.subarray(5, 25)).toString('hex')}`, bob.toLowerCase());
  assert.equal(new DataView(one.buffer).getUint32(25), content.length);
  assert.deepEqual(one.subarray(29), content);
});

test('encode refuses an empty batch and a contribution twice', () => {
  assert.throws(() => encodeBatchPayload([]), DaPayloadError);
  assert.throws(() => encodeBatchPayload([records[0]!, { ...records[0]!, contributor: alice.toLowerCase() as Address }]), /twice/);
});

test('decode refuses anything but the canonical bytes: version, truncation, trailing bytes, order, duplicates, no record', () => {
  const payload = encodeBatchPayload(records);
  const patched = (f: (b: Uint8Array) => void) => {
    const b = payload.slice();
    f(b);
    return b;
  };
  assert.throws(() => decodeBatchPayload(patched((b) => (b[0] = 2))), /version/);
  assert.throws(() => decodeBatchPayload(payload.subarray(0, payload.length - 1)), /cut short/);
  assert.throws(() => decodeBatchPayload(payload.subarray(0, 3)), DaPayloadError);
  assert.throws(() => decodeBatchPayload(Uint8Array.of(...payload, 0)), /after the last record/);
  assert.throws(() => decodeBatchPayload(patched((b) => new DataView(b.buffer).setUint32(1, 0))), /no record/);
  assert.throws(() => decodeBatchPayload(patched((b) => new DataView(b.buffer).setUint32(1, 5))), /cut short/);
  // Two records swapped: same records, not the canonical order.
  const [a, b] = decodeBatchPayload(encodeBatchPayload(records.slice(0, 2))).records;
  const swapped = encodeBatchPayload([b!]).subarray(5);
  const first = encodeBatchPayload([a!]).subarray(5);
  const header = Uint8Array.of(DA_PAYLOAD_VERSION, 0, 0, 0, 2);
  assert.throws(() => decodeBatchPayload(Uint8Array.of(...header, ...swapped, ...first)), /ascending/);
  assert.throws(() => decodeBatchPayload(Uint8Array.of(...header, ...first, ...first)), /ascending/);
  assert.ok(decodeBatchPayload(Uint8Array.of(...header, ...first, ...swapped)));
});
