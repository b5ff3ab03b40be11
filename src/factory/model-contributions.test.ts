import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keccak256, stringToBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { contributionIdOf } from '../datanet/contribution-id.ts';
import { readContributionsDocument } from './model-contributions.ts';

// A model's contributions document comes from the node that trained it, through any peer: a
// mirroring node takes from it only what each contribution id proves.

const alice = privateKeyToAccount(keccak256(stringToBytes('alice'))).address;
const mallory = privateKeyToAccount(keccak256(stringToBytes('mallory'))).address;
const entry = (text: string, contributor = alice) => {
  const contentHash = keccak256(stringToBytes(text));
  return { id: contributionIdOf(contentHash, contributor), contentHash, contributor };
};

test('a contributions document is read only when every id derives from its content hash and contributor, and it covers the trace', () => {
  const doc = [entry('a'), entry('b')];
  assert.deepEqual(readContributionsDocument(doc, doc.map((c) => c.id)).map((c) => c.id), doc.map((c) => c.id));
  // a publisher that names itself as the contributor of someone else's record
  const stolen = [{ ...doc[0]!, contributor: mallory }, doc[1]!];
  assert.throws(() => readContributionsDocument(stolen, doc.map((c) => c.id)), (e: Error & { code?: string }) => e.code === 'unmirrorable_model' && /gives contribution 0x[0-9a-f]{64} to 0x[0-9a-fA-F]{40}, whose content hash does not make that id/.test(e.message));
  // a trace contribution left out (its share would have no payee)
  assert.throws(() => readContributionsDocument([doc[0]], doc.map((c) => c.id)), /leaves out 1 of the trace's contributions/);
  assert.throws(() => readContributionsDocument({ contributions: doc }, []), /malformed/);
  assert.throws(() => readContributionsDocument([{ ...doc[0]!, extra: 1 }], []), /malformed/);
});
