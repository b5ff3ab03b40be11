import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAddressEqual, keccak256, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { splitCallTree, type CallNode } from './call-tree.ts';
import { ROOT_PARENT, signSkillCall, skillCallSigner, type SkillCall } from './skill-call.ts';

const key = (label: string) => privateKeyToAccount(keccak256(toHex(label)));
const id = (label: string): Hex => keccak256(toHex(label));
const [consumer, a, b, c] = [key('consumer'), key('agent A'), key('agent B'), key('agent C')];
const [alice, bob, carol] = [key('alice').address, key('bob').address, key('carol').address];
const owner = key('model owner').address, datanetOwner = key('datanet owner').address, treasury = key('treasury').address, stakers = key('stakers').address;
const SPLIT = { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 };

/** One inference of `agent`'s, `fee` wei, attributed to `who` (ppm each). */
const inference = (receipt: string, agent: Address, fee: bigint, who: Array<[Address, number]>) => ({
  receiptId: id(receipt), consumer: agent, fee, split: SPLIT, modelName: 'qa', modelOwner: owner,
  contributions: who.map(([contributor, sharePpm], k) => ({ contributionId: id(`${receipt} ${k}`), datanetId: 1, sharePpm, contributor, datanetOwner })),
});
const call = (name: string, parent: Hex, agent: Address, payer: Address, price: bigint, receipts: Hex[], children: Hex[]): SkillCall => ({
  callId: id(name), parentCallId: parent, skill: id(`skill ${name}`), agent, payer, price, inputHash: id(`${name} in`), outputHash: id(`${name} out`), inferenceReceipts: receipts, children,
});

test('a consumer pays agent A once; A calls B, B calls C, each runs an inference: every payee gets exactly its share', () => {
  const iC = inference('c1', c.address, 10_000n, [[carol, 1_000_000]]);
  const iB = inference('b1', b.address, 20_000n, [[bob, 500_000], [carol, 500_000]]);
  const iA = inference('a1', a.address, 30_000n, [[alice, 1_000_000]]);
  const C: CallNode = { call: call('C', id('B'), c.address, b.address, 20_000n, [iC.receiptId], []), terms: { dataRoyaltyBps: 1000, upstream: [] }, inferences: [iC], children: [] };
  const B: CallNode = { call: call('B', id('A'), b.address, a.address, 60_000n, [iB.receiptId], [id('C')]), terms: { dataRoyaltyBps: 2000, upstream: [{ payee: c.address, bps: 500, cap: 100n }] }, inferences: [iB], children: [C] };
  const A: CallNode = { call: call('A', ROOT_PARENT, a.address, consumer.address, 100_000n, [iA.receiptId], [id('B')]), terms: { dataRoyaltyBps: 0, upstream: [] }, inferences: [iA], children: [B] };
  const credits = splitCallTree(A, { protocolFeeBps: 100, treasury, stakerPool: stakers });
  const to = (who: Address, role?: string) => credits.filter((x) => isAddressEqual(x.payee, who) && (!role || x.role === role)).reduce((s, x) => s + x.amount, 0n);
  assert.equal(credits.reduce((s, x) => s + x.amount, 0n), 100_000n, 'one payment, split whole');
  // protocol: 1 % of each call's price
  assert.equal(to(treasury), 1_000n + 600n + 200n);
  // C: 20,000 − 200 protocol − 10,000 inference = 9,800 margin; 10 % royalty to carol (the data behind its answer); the rest to C
  assert.equal(to(carol, 'data_royalty'), 980n + 1_940n); // and half of B's royalty (below)
  // B: 60,000 − 600 − 20,000 (inference) − 20,000 (C) = 19,400 margin: royalty 3,880 split bob/carol by fee × attribution; upstream C: min(970, 100)
  assert.equal(to(bob, 'data_royalty'), 1_940n);
  assert.equal(to(c.address, 'skill_upstream'), 100n);
  assert.equal(to(b.address, 'skill_agent'), 19_400n - 3_880n - 100n);
  assert.equal(to(c.address, 'skill_agent'), 9_800n - 980n);
  // A: 100,000 − 1,000 − 30,000 − 60,000 = 9,000 margin, no royalty terms: all A's
  assert.equal(to(a.address, 'skill_agent'), 9_000n);
  // each inference's fee split by Proof of Attribution: contributors 50 %, model owner 30 %, datanet owner 10 %, stakers 10 %
  assert.equal(to(alice, 'contributor'), 15_000n);
  assert.equal(to(bob, 'contributor'), 5_000n);
  assert.equal(to(carol, 'contributor'), 5_000n + 5_000n);
  assert.equal(to(owner), 18_000n);
  assert.equal(to(datanetOwner), 6_000n);
  assert.equal(to(stakers), 6_000n);
});

test('a call counts only with its agent\'s signature, for the chain and settlement it names', async () => {
  const domain = { chainId: 31337, settlement: key('settlement').address };
  const x = call('X', ROOT_PARENT, a.address, consumer.address, 5n, [], []);
  const signature = await signSkillCall(a, domain, x);
  assert.ok(isAddressEqual(await skillCallSigner(domain, x, signature), a.address));
  // the same signature read for another chain, another settlement, or another price is someone else's
  for (const [d, changed] of [[{ ...domain, chainId: 10 }, x], [{ ...domain, settlement: key('other').address }, x], [domain, { ...x, price: 6n }]] as const) {
    assert.ok(!isAddressEqual(await skillCallSigner(d, changed, signature), a.address));
  }
});
