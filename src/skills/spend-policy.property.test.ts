/**
 * An agent's session key under its policy (issue 19): whatever sequence of spends it asks for — an
 * agent steered by a prompt-injected deliverable asks for anything — what is allowed stays within
 * the call limit, every rolling period's limit, the allowed skills and payees, and nothing after
 * expiry, revocation or a change of owner.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { keccak256, toHex, type Address, type Hex } from 'viem';
import { decideSpend, type SpendPolicy } from './spend-policy.ts';

const addr = (n: number): Address => `0x${(n + 1).toString(16).padStart(40, '0')}`;
const skill = (n: number): Hex => keccak256(toHex(`skill ${n}`));
const KEY = addr(1);

test('allowed spends never break the policy, whatever is asked', () => {
  let allowedInAll = 0, refusedInAll = 0;
  fc.assert(fc.property(
    fc.record({ perCall: fc.bigInt({ min: 1n, max: 1000n }), perPeriod: fc.bigInt({ min: 1n, max: 5000n }), seconds: fc.integer({ min: 1, max: 3600 }), expiresAt: fc.integer({ min: 0, max: 12_000 }), skills: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }), payees: fc.uniqueArray(fc.integer({ min: 10, max: 12 }), { maxLength: 2 }) }),
    fc.array(fc.record({ key: fc.constantFrom(KEY, KEY, KEY, addr(2)), skill: fc.integer({ min: 0, max: 2 }), payee: fc.integer({ min: 10, max: 12 }), amount: fc.bigInt({ min: -2n, max: 700n }), dt: fc.integer({ min: 0, max: 300 }) }), { maxLength: 60 }),
    fc.integer({ min: 0, max: 59 }), fc.constantFrom('none', 'revoke', 'transfer'),
    (p, asks, cutAt, cut) => {
      let policy: SpendPolicy = { sessionKey: KEY, ownerEpoch: 0, expiresAt: p.expiresAt, revoked: false, perCall: p.perCall, perPeriod: { amount: p.perPeriod, seconds: p.seconds }, skills: p.skills.length ? p.skills.map(skill) : 'any', payees: p.payees.length ? p.payees.map(addr) : 'any' };
      let ownerEpoch = 0, at = 0;
      const allowed: Array<{ at: number; amount: bigint; skill: Hex; payee: Address }> = [];
      asks.forEach((a, i) => {
        if (i === cutAt && cut === 'revoke') policy = { ...policy, revoked: true };
        if (i === cutAt && cut === 'transfer') ownerEpoch++;
        at += a.dt;
        const r = { sessionKey: a.key, skill: skill(a.skill), payee: addr(a.payee), amount: a.amount, at };
        const d = decideSpend(policy, ownerEpoch, allowed, r);
        if (!d.allowed) return void refusedInAll++;
        allowedInAll++;
        assert.equal(a.key, KEY, 'only the key holding the permission spends');
        assert.ok(!(cut !== 'none' && i >= cutAt), 'nothing after revocation or a change of owner');
        assert.ok(at <= policy.expiresAt && a.amount > 0n && a.amount <= policy.perCall);
        if (policy.skills !== 'any') assert.ok(policy.skills.includes(r.skill));
        if (policy.payees !== 'any') assert.ok(policy.payees.includes(r.payee));
        allowed.push({ at, amount: a.amount, skill: r.skill, payee: r.payee });
      });
      // every rolling window of the period holds at most the period's amount
      for (const end of allowed.map((s) => s.at)) {
        const inWindow = allowed.filter((s) => s.at > end - p.seconds && s.at <= end).reduce((n, s) => n + s.amount, 0n);
        assert.ok(inWindow <= p.perPeriod, `${inWindow} spent in a window of ${p.seconds} s`);
      }
    }), { numRuns: 2_000 });
  assert.ok(allowedInAll > 100 && refusedInAll > 100, `both allowed (${allowedInAll}) and refused (${refusedInAll}) spends were tried`);
});

test('each refusal says why', () => {
  const policy: SpendPolicy = { sessionKey: KEY, ownerEpoch: 3, expiresAt: 1000, revoked: false, perCall: 10n, perPeriod: { amount: 15n, seconds: 60 }, skills: [skill(1)], payees: [addr(10)] };
  const ask = { sessionKey: KEY, skill: skill(1), payee: addr(10), amount: 10n, at: 100 };
  const reason = (d: ReturnType<typeof decideSpend>) => (d.allowed ? 'allowed' : d.reason);
  assert.equal(reason(decideSpend(policy, 3, [], ask)), 'allowed');
  assert.equal(reason(decideSpend(policy, 3, [], { ...ask, sessionKey: addr(2) })), 'unknown_key');
  assert.equal(reason(decideSpend({ ...policy, revoked: true }, 3, [], ask)), 'revoked');
  assert.equal(reason(decideSpend(policy, 4, [], ask)), 'owner_changed');
  assert.equal(reason(decideSpend(policy, 3, [], { ...ask, at: 1001 })), 'expired');
  assert.equal(reason(decideSpend(policy, 3, [], { ...ask, amount: 11n })), 'over_call_limit');
  assert.equal(reason(decideSpend(policy, 3, [{ at: 50, amount: 10n }], ask)), 'over_period_limit');
  assert.equal(reason(decideSpend(policy, 3, [{ at: 40, amount: 10n }], ask)), 'allowed', 'a spend 60 s old has left the window');
  assert.equal(reason(decideSpend(policy, 3, [], { ...ask, skill: skill(2) })), 'skill_not_allowed');
  assert.equal(reason(decideSpend(policy, 3, [], { ...ask, payee: addr(11) })), 'payee_not_allowed');
  assert.equal(reason(decideSpend(policy, 3, [], { ...ask, amount: 0n })), 'bad_amount');
});
