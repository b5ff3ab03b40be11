/**
 * A consumer's one payment split down a tree of agents calling agents (issue 19): over 10,000 random
 * trees up to 6 calls deep, the credits sum to what was paid, none is negative, every inference's
 * fee is split once, and each call's payouts fit in its price; and each structural fraud — an
 * inference counted twice, another consumer's inference claimed, a re-parented or forged child, a
 * child over its parent's budget — is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { keccak256, toHex, type Address, type Hex } from 'viem';
import type { FeeSplit } from '../attribution/receipt-types.ts';
import { distribute } from '../settlement/fee-split.ts';
import { CallTreeError, checkCallTree, splitCallTree, type CallNode, type CallTreeParams } from './call-tree.ts';
import { ROOT_PARENT } from './skill-call.ts';

const SPLIT: FeeSplit = { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 };
const addr = (n: number): Address => `0x${(n + 1).toString(16).padStart(40, '0')}`;
const id = (label: string): Hex => keccak256(toHex(label));
const PARAMS: CallTreeParams = { protocolFeeBps: 100, treasury: addr(9000), stakerPool: addr(9001) };

/** A small seeded generator (mulberry32): one seed, one tree. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), big: (hi: number) => BigInt(Math.floor(next() * hi)) };
}

/** A valid tree: prices built bottom-up so that every call's protocol fee, inferences and children fit. */
function tree(seed: number, maxDepth = 6): CallNode {
  const r = random(seed);
  let calls = 0, receipts = 0;
  const node = (depth: number, parent: Hex, payer: Address): CallNode => {
    const callId = id(`call ${seed}/${calls++}`);
    const agent = addr(r.int(0, 30));
    const inferences = Array.from({ length: r.int(0, 2) }, () => {
      const n = r.int(0, 3);
      const shares = distribute(1_000_000n, Array.from({ length: n }, () => BigInt(r.int(1, 100))));
      const contributions = shares.map((s, k) => ({ contributionId: id(`c ${r.int(0, 500)} ${k}`), datanetId: r.int(1, 3), sharePpm: Number(s), contributor: addr(100 + r.int(0, 200)), datanetOwner: addr(50 + r.int(0, 3)) }));
      const pools = n === 0 && r.int(0, 1) === 1 ? [{ datanetId: 1, sharePpm: 600_000, datanetOwner: addr(50) }, { datanetId: 2, sharePpm: 400_000, datanetOwner: addr(51) }] : [];
      return { receiptId: id(`receipt ${seed}/${receipts++}`), consumer: agent, fee: r.big(1e9), split: SPLIT, modelName: `m${r.int(0, 2)}`, modelOwner: addr(40 + r.int(0, 2)), contributions, pools };
    });
    const children = depth < maxDepth ? Array.from({ length: r.int(0, depth === 1 ? 3 : 2) }, () => node(depth + 1, callId, agent)) : [];
    const costs = inferences.reduce((s, i) => s + i.fee, 0n) + children.reduce((s, k) => s + k.call.price, 0n) + r.big(1e9);
    // the price whose 1 % protocol fee still leaves the costs and a margin
    const price = costs + (costs * 100n) / 9900n + 1n;
    const upstream = Array.from({ length: r.int(0, 2) }, () => ({ payee: addr(300 + r.int(0, 5)), bps: r.int(0, 1500), cap: r.big(5e8) }));
    return {
      call: { callId, parentCallId: parent, skill: id(`skill ${r.int(0, 20)}`), agent, payer, price, inputHash: id('in'), outputHash: id('out'), inferenceReceipts: inferences.map((i) => i.receiptId), children: children.map((k) => k.call.callId) },
      terms: { dataRoyaltyBps: r.int(0, 3000), upstream }, inferences, children,
    };
  };
  return node(1, ROOT_PARENT, addr(1000));
}

const nodes = (n: CallNode): CallNode[] => [n, ...n.children.flatMap(nodes)];

test('over 10,000 random call trees: credits sum to the payment, none negative, each inference split once, budgets kept', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
    const root = tree(seed);
    const credits = splitCallTree(root, PARAMS);
    assert.equal(credits.reduce((s, c) => s + c.amount, 0n), root.call.price, 'the credits sum to what the consumer paid');
    assert.ok(credits.every((c) => c.amount > 0n));
    const inferenceRoles = new Set(['model_owner', 'datanet_owner', 'datanet_pool', 'contributor', 'staker']);
    const all = nodes(root);
    assert.equal(credits.filter((c) => inferenceRoles.has(c.role)).reduce((s, c) => s + c.amount, 0n), all.flatMap((n) => n.inferences).reduce((s, i) => s + i.fee, 0n), 'every inference fee split once');
    for (const n of all) {
      const mine = credits.filter((c) => c.callId === n.call.callId).reduce((s, c) => s + c.amount, 0n);
      assert.equal(mine + n.children.reduce((s, k) => s + k.call.price, 0n), n.call.price, 'a call pays out its price: its own credits and its children');
    }
  }), { numRuns: 10_000 });
});

test('structural frauds are refused, each by name', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 4 }), (seed, kind) => {
    const root = tree(seed);
    const all = nodes(root);
    const withChildren = all.filter((n) => n.children.length > 0);
    const withInferences = all.filter((n) => n.inferences.length > 0);
    const refuses = (code: string) => assert.throws(() => checkCallTree(root, PARAMS), (e: unknown) => e instanceof CallTreeError && e.code === code);
    if (kind === 0 && withInferences.length > 0 && all.length > 1) {
      // an inference counted in two calls (the second signs it too)
      const inf = withInferences[0]!.inferences[0]!;
      const other = all.find((n) => n !== withInferences[0])!;
      const mutable = other as { inferences: CallNode['inferences']; call: CallNode['call'] };
      mutable.inferences = [...other.inferences, { ...inf, consumer: other.call.agent }];
      mutable.call = { ...other.call, inferenceReceipts: [...other.call.inferenceReceipts, inf.receiptId] };
      refuses('inference_counted_twice');
    } else if (kind === 1 && withInferences.length > 0) {
      // another consumer's inference claimed
      const n = withInferences[0]! as { inferences: CallNode['inferences'] };
      n.inferences = [{ ...n.inferences[0]!, consumer: addr(7777) }, ...n.inferences.slice(1)];
      refuses('foreign_inference');
    } else if (kind === 2 && withChildren.length > 0) {
      // a child re-parented under a call that did not make it
      const parent = withChildren[0]!;
      const child = parent.children[0]! as { call: CallNode['call'] };
      child.call = { ...child.call, parentCallId: id('someone else') };
      refuses('reparented_call');
    } else if (kind === 3 && withChildren.length > 0) {
      // a child the parent never signed for
      const parent = withChildren[0]! as { call: CallNode['call'] };
      parent.call = { ...parent.call, children: parent.call.children.slice(1) };
      refuses('forged_child');
    } else if (kind === 4 && withChildren.length > 0) {
      // a child that costs more than its parent's budget leaves
      const parent = withChildren[0]!;
      const child = parent.children[0]! as { call: CallNode['call'] };
      child.call = { ...child.call, price: child.call.price + parent.call.price };
      refuses('over_budget');
    } else {
      checkCallTree(root, PARAMS);
    }
  }), { numRuns: 2_000 });
});
