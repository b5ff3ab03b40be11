import { isAddressEqual, type Address, type Hex } from 'viem';

/**
 * What an agent's session key may spend from the agent's treasury (ERC-7715-style permissions): a
 * most per call and per rolling period, the skills it may buy and the payees it may pay, an expiry,
 * and a kill switch. Keys are granted under the treasury's owner: when the agent's token changes
 * hands, `ownerEpoch` moves on and every key granted before stops (the new owner's treasury owes
 * nothing to the old owner's keys).
 */
export interface SpendPolicy {
  sessionKey: Address;
  /** The treasury owner's epoch the key was granted in. */
  ownerEpoch: number;
  /** Unix seconds after which the key spends nothing. */
  expiresAt: number;
  /** The kill switch. */
  revoked: boolean;
  perCall: bigint;
  perPeriod: { amount: bigint; seconds: number };
  /** Skill ids it may buy, or any. */
  skills: readonly Hex[] | 'any';
  /** Agents (treasuries) it may pay, or any. */
  payees: readonly Address[] | 'any';
}

/** One spend a session key asks for. */
export interface SpendRequest {
  sessionKey: Address;
  skill: Hex;
  payee: Address;
  amount: bigint;
  /** Unix seconds. */
  at: number;
}

/** Why a spend is refused (each a code and a sentence), or that it may go ahead. */
export type SpendDecision =
  | { allowed: true }
  | { allowed: false; reason: 'unknown_key' | 'revoked' | 'owner_changed' | 'expired' | 'over_call_limit' | 'over_period_limit' | 'skill_not_allowed' | 'payee_not_allowed' | 'bad_amount'; message: string };

/**
 * Decides one spend against a key's policy and what it spent before (`spent`: its past spends,
 * any order), as data: the treasury applies it on chain, the skill runtime before it asks, and
 * nothing an agent reads in a deliverable (a prompt-injected instruction to pay someone) can widen
 * it. The period is rolling: the spends in the `seconds` up to and including now.
 *
 * @example
 * const d = decideSpend(policy, ownerEpoch, history, { sessionKey, skill, payee, amount, at: now });
 * if (!d.allowed) throw new Error(d.message);
 */
export function decideSpend(policy: SpendPolicy | undefined, ownerEpoch: number, spent: ReadonlyArray<{ at: number; amount: bigint }>, r: SpendRequest): SpendDecision {
  const no = (reason: Exclude<SpendDecision, { allowed: true }>['reason'], message: string): SpendDecision => ({ allowed: false, reason, message });
  if (!policy || !isAddressEqual(policy.sessionKey, r.sessionKey)) return no('unknown_key', `${r.sessionKey} holds no spending permission on this treasury`);
  if (policy.revoked) return no('revoked', `the permission of ${r.sessionKey} was revoked`);
  if (policy.ownerEpoch !== ownerEpoch) return no('owner_changed', `the agent changed hands since ${r.sessionKey} was granted its permission`);
  if (r.at > policy.expiresAt) return no('expired', `the permission of ${r.sessionKey} expired at ${policy.expiresAt}`);
  if (r.amount <= 0n) return no('bad_amount', 'a spend is a positive amount');
  if (policy.skills !== 'any' && !policy.skills.some((s) => s.toLowerCase() === r.skill.toLowerCase())) return no('skill_not_allowed', `skill ${r.skill} is not one this key may buy`);
  if (policy.payees !== 'any' && !policy.payees.some((p) => isAddressEqual(p, r.payee))) return no('payee_not_allowed', `${r.payee} is not a payee this key may pay`);
  if (r.amount > policy.perCall) return no('over_call_limit', `${r.amount} wei is over the ${policy.perCall} wei a call this key may spend`);
  const window = spent.filter((s) => s.at > r.at - policy.perPeriod.seconds && s.at <= r.at).reduce((n, s) => n + s.amount, 0n);
  if (window + r.amount > policy.perPeriod.amount) return no('over_period_limit', `${window} wei spent in the last ${policy.perPeriod.seconds} s; ${r.amount} more is over the ${policy.perPeriod.amount} wei this key may spend in that time`);
  return { allowed: true };
}
