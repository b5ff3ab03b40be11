import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { getAddress, type Address, type Hex } from 'viem';
import { distribute, splitFee, splitStakerPool } from './fee-split.ts';

const address = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, '0')}`);
const POOL = address(0xfee);
const split = { modelOwnerBps: 3000, datanetOwnersBps: 1000, contributorsBps: 5000, stakersBps: 1000 };

test('distribute is exact and proportional', () => {
  assert.deepEqual(distribute(10n, [1n, 1n, 1n]), [4n, 3n, 3n]);
  assert.deepEqual(distribute(7n, [0n, 0n]), [0n, 0n]);
  fc.assert(fc.property(fc.bigInt(0n, 10n ** 24n), fc.array(fc.bigInt(0n, 10n ** 6n), { minLength: 1, maxLength: 30 }), (amount, weights) => {
    const parts = distribute(amount, weights);
    const total = weights.reduce((a, b) => a + b, 0n);
    assert.equal(parts.reduce((a, b) => a + b, 0n), total === 0n ? 0n : amount);
    parts.forEach((p, i) => {
      assert.ok(p >= 0n);
      if (total > 0n) assert.ok(p * total <= amount * weights[i]! + total && p * total + total >= amount * weights[i]!, 'within one unit of the exact share');
    });
  }));
});

test('a fee is split by the governance shares and the attribution, to the unit', () => {
  const contributions = [
    { contributionId: '0x01' as Hex, datanetId: 1, sharePpm: 750_000, contributor: address(1), datanetOwner: address(10) },
    { contributionId: '0x02' as Hex, datanetId: 2, sharePpm: 250_000, contributor: address(2), datanetOwner: address(20) },
  ];
  const credits = splitFee({ fee: 10_000n, split, modelName: 'qa', modelOwner: address(99), contributions }, POOL);
  const of = (payee: Address, role: string) => credits.find((c) => c.payee === payee && c.role === role)?.amount;
  assert.equal(of(address(99), 'model_owner'), 3000n);
  assert.equal(of(address(1), 'contributor'), 3750n);
  assert.equal(of(address(2), 'contributor'), 1250n);
  assert.equal(of(address(10), 'datanet_owner'), 750n);
  assert.equal(of(address(20), 'datanet_owner'), 250n);
  assert.equal(of(POOL, 'staker'), 1000n);
  // no contribution credited: the data shares go to the model owner
  const alone = splitFee({ fee: 10_000n, split, modelName: 'qa', modelOwner: address(99), contributions: [] }, POOL);
  assert.deepEqual(alone.map((c) => [c.role, c.amount]), [['model_owner', 9000n], ['staker', 1000n]]);
});

test('an answer whose attribution abstained pays the datanets\' pools, never an individual contributor', () => {
  const pools = [{ datanetId: 2, sharePpm: 250_000, datanetOwner: address(20) }, { datanetId: 1, sharePpm: 750_000, datanetOwner: address(10) }];
  const credits = splitFee({ fee: 10_000n, split, modelName: 'qa', modelOwner: address(99), contributions: [], pools }, POOL);
  const of = (payee: Address, role: string) => credits.find((c) => c.payee === payee && c.role === role)?.amount;
  assert.equal(of(address(99), 'model_owner'), 3000n);
  assert.equal(of(address(10), 'datanet_pool'), 3750n);
  assert.equal(of(address(20), 'datanet_pool'), 1250n);
  assert.equal(of(address(10), 'datanet_owner'), 750n);
  assert.equal(of(address(20), 'datanet_owner'), 250n);
  assert.equal(credits.filter((c) => c.role === 'contributor').length, 0);
  assert.equal(credits.reduce((a, c) => a + c.amount, 0n), 10_000n);
});

test('property: credits sum to the fee, never negative, whatever the split and the attribution', () => {
  const splitArb = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 3, maxLength: 3 }).filter((xs) => xs.reduce((a, b) => a + b, 0) <= 10_000)
    .map(([a, b, c]) => ({ modelOwnerBps: a!, datanetOwnersBps: b!, contributorsBps: c!, stakersBps: 10_000 - a! - b! - c! }));
  const contributionsArb = fc.array(fc.record({ datanet: fc.integer({ min: 1, max: 4 }), who: fc.integer({ min: 1, max: 6 }), w: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 12 }).map((cs) => {
    const ppm = distribute(1_000_000n, cs.map((c) => BigInt(c.w)));
    return cs.map((c, i) => ({ contributionId: `0x${i.toString(16).padStart(2, '0')}` as Hex, datanetId: c.datanet, sharePpm: Number(ppm[i]), contributor: address(c.who), datanetOwner: address(100 + c.datanet) })).filter((c) => c.sharePpm > 0);
  });
  fc.assert(fc.property(fc.bigInt(0n, 10n ** 22n), splitArb, contributionsArb, fc.boolean(), (fee, s, contributions, abstained) => {
    // an abstained answer: the same datanets' parts, as pools
    const pools = abstained ? [...new Set(contributions.map((c) => c.datanetId))].map((datanetId) => ({ datanetId, sharePpm: contributions.filter((c) => c.datanetId === datanetId).reduce((a, c) => a + c.sharePpm, 0), datanetOwner: address(100 + datanetId) })) : [];
    const credits = splitFee({ fee, split: s, modelName: 'm', modelOwner: address(99), contributions: abstained ? [] : contributions, pools }, POOL);
    if (abstained) assert.ok(credits.every((c) => c.role !== 'contributor'));
    assert.equal(credits.reduce((a, c) => a + c.amount, 0n), fee);
    for (const c of credits) assert.ok(c.amount > 0n);
    const stakers = splitStakerPool(credits.filter((c) => c.role === 'staker').reduce((a, c) => a + c.amount, 0n), [{ staker: address(7), bonded: 3n }, { staker: address(8), bonded: 1n }], address(9));
    assert.equal(stakers.reduce((a, c) => a + c.amount, 0n), credits.filter((c) => c.role === 'staker').reduce((a, c) => a + c.amount, 0n));
  }));
});
