import { open } from '../../api.ts';
import { roleName as feeRoleName } from '../rewards/types.ts';
import type { Offer } from './types.ts';

/** A skill's price as people read it: per call, per 1,000 tokens, or its costs plus a fee up to the caller's maximum. */
export function priceText(o: Pick<Offer, 'pricing' | 'price'>): string {
  if (o.pricing === 'flat') return `${open(o.price)} a call`;
  if (o.pricing === 'per-1k-tokens') return `${open(o.price)} per 1,000 tokens`;
  return `its costs + ${open(o.price)}, up to your maximum`;
}

/** Basis points as a percentage. */
export const percentBps = (bps: number): string => `${(bps / 100).toLocaleString('en', { maximumFractionDigits: 2 })} %`;

/** Parts per million as a percentage. */
export const percentPpm = (ppm: number): string => `${(ppm / 10_000).toLocaleString('en', { maximumFractionDigits: 2 })} %`;

/** The order payouts are listed in: what every call pays first, then what its margin pays. */
export const ROLE_ORDER = ['protocol', 'model_owner', 'datanet_owner', 'datanet_pool', 'contributor', 'staker', 'data_royalty', 'skill_upstream', 'skill_agent'];

/** A payout's role as people say it. */
export const roleName = (role: string): string =>
  ({ protocol: 'protocol fee', data_royalty: 'data royalty', skill_upstream: 'upstream skill', skill_agent: 'the skill’s agent' })[role] ?? feeRoleName(role);

/** What a role is paid for, for the title of its row. */
export const roleHint = (role: string): string | undefined => ({
  protocol: "the protocol's fee on the call's price, to the treasury",
  model_owner: "the model owner's share of an inference fee",
  datanet_owner: "the datanet owners' share of an inference fee",
  datanet_pool: "the contributors' share of an answer that credited no single contribution, to the datanet's pool",
  contributor: "the contributors' share of an inference fee, by attribution",
  staker: "the stakers' share of an inference fee, divided by stake in the epoch",
  data_royalty: "the skill's data royalty: part of its margin paid to the data behind its answers, by fee × attribution",
  skill_upstream: 'part of the margin paid to the skills this one derives from',
  skill_agent: "what is left of the margin, to the skill's agent (its account)",
})[role];

