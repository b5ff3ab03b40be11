import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concat, encodeAbiParameters, encodePacked, keccak256, toBytes, zeroHash, type Address, type Hex } from 'viem';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { CALL_LEAF_TYPES, EMPTY_CALL_ROOT, callLeaf, callLeafHash, callLeafValues, callProof, callRoot, callTree, hashList, verifyCallProof } from './call-root.ts';
import type { EpochCall } from './epoch-tree.ts';

const id = (s: string): Hex => keccak256(toBytes(s));
const CONSUMER = '0x00000000000000000000000000000000000000c1' as Address;
const AGENT_A = '0x00000000000000000000000000000000000000a1' as Address;
const AGENT_B = '0x00000000000000000000000000000000000000b1' as Address;

function served(callId: Hex, o: Partial<EpochCall['call']> = {}): EpochCall {
  return {
    call: {
      callId, parentCallId: zeroHash, skill: id('skill'), agent: AGENT_A, payer: CONSUMER, price: '1000',
      inputHash: id(`in ${callId}`), outputHash: id(`out ${callId}`), inferenceReceipts: [], children: [], ...o,
    },
    signature: '0x',
    block: '1',
    terms: { dataRoyaltyBps: 0, upstream: [] },
  };
}

const parent = served(id('parent'), { children: [id('child')], inferenceReceipts: [id('r1'), id('r2')], price: '5000000000000000000' });
const child = served(id('child'), { parentCallId: id('parent'), agent: AGENT_B, payer: AGENT_A, inferenceReceipts: [id('r3')] });
const other = served(id('other'));
const calls = [parent, child, other];

test('a leaf is the signed call with its lists hashed as abi.encodePacked(bytes32[]), in the order of CALL_LEAF_TYPES', () => {
  const leaf = callLeaf(parent);
  assert.equal(leaf.receiptsHash, keccak256(encodePacked(['bytes32[]'], [[id('r1'), id('r2')]])));
  assert.equal(leaf.receiptsHash, keccak256(concat([id('r1'), id('r2')])));
  assert.equal(leaf.childrenHash, keccak256(encodePacked(['bytes32[]'], [[id('child')]])));
  assert.equal(callLeaf(other).childrenHash, keccak256('0x'), 'an empty list hashes as no bytes');
  assert.equal(hashList([]), keccak256('0x'));
  assert.equal(leaf.price, 5n * 10n ** 18n);
  // the standard leaf: keccak256(keccak256(abi.encode(fields)))
  const encoded = encodeAbiParameters(CALL_LEAF_TYPES.map((type) => ({ type })), [
    leaf.callId, leaf.parentCallId, leaf.skill, leaf.agent, leaf.payer, leaf.price, leaf.inputHash, leaf.outputHash, leaf.receiptsHash, leaf.childrenHash,
  ]);
  assert.equal(callLeafHash(leaf), keccak256(keccak256(encoded)));
  // the same tree as OpenZeppelin's StandardMerkleTree of the values (what MerkleProof checks on chain)
  assert.equal(callRoot(calls), StandardMerkleTree.of(calls.map((c) => callLeafValues(callLeaf(c))), [...CALL_LEAF_TYPES]).root);
  assert.equal(callTree(calls)!.leaves.size, calls.length);
});

test('every call has a proof that verifies against the root, and fails against another root or for an altered leaf', () => {
  const root = callRoot(calls);
  for (const c of calls) {
    const p = callProof(calls, c.call.callId);
    assert.deepEqual(p.leaf, callLeaf(c));
    assert.deepEqual([p.inferenceReceipts, p.children], [c.call.inferenceReceipts, c.call.children]);
    assert.equal(verifyCallProof(root, p.leaf, p.proof), true);
    assert.equal(StandardMerkleTree.verify(root, [...CALL_LEAF_TYPES], p.values, p.proof), true);
    assert.equal(verifyCallProof(callRoot([parent, child]), p.leaf, p.proof), false);
    assert.equal(verifyCallProof(root, { ...p.leaf, price: p.leaf.price + 1n }, p.proof), false);
  }
  // the call id is matched whatever its case
  assert.deepEqual(callProof(calls, child.call.callId.toUpperCase().replace('0X', '0x') as Hex).leaf, callLeaf(child));
  assert.throws(() => callProof(calls, id('never made')), /is not among the epoch's calls/);
});

test('the root depends on the set of calls, not their order', () => {
  const root = callRoot(calls);
  assert.equal(callRoot([other, child, parent]), root);
  assert.equal(callRoot([child, parent, other]), root);
  assert.notEqual(callRoot([parent, child]), root);
  // a single call: the root is its leaf, with an empty proof
  const single = callProof([other], other.call.callId);
  assert.deepEqual(single.proof, []);
  assert.equal(verifyCallProof(callRoot([other]), single.leaf, single.proof), true);
});

test('no calls: the empty root is zero, which no proof opens; a call listed twice is refused', () => {
  assert.equal(callRoot([]), EMPTY_CALL_ROOT);
  assert.equal(EMPTY_CALL_ROOT, zeroHash);
  assert.equal(callTree([]), undefined);
  assert.throws(() => callProof([], other.call.callId), /is not among/);
  assert.equal(verifyCallProof(EMPTY_CALL_ROOT, callLeaf(other), []), false);
  assert.throws(() => callRoot([other, served(other.call.callId.toUpperCase().replace('0X', '0x') as Hex, { price: '2' })]), /listed twice/);
});
