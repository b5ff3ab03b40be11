import type { Address, Hex } from 'viem';
import type { FeeSplit } from '../attribution/receipt-types.ts';

/**
 * What a payee is paid as. `datanet_pool`: the contributors' share of an answer whose attribution
 * abstained (evidence under the governance threshold), paid to each datanet's pool — held by the
 * datanet's owner — instead of to records picked by noise. The last four are paid from skill calls'
 * prices (call-tree.ts).
 */
export type CreditRole = 'model_owner' | 'datanet_owner' | 'datanet_pool' | 'contributor' | 'staker'
  // from a skill call's price (call-tree.ts): the protocol's fee, the agent's margin, an upstream skill's royalty, the data royalty
  | 'protocol' | 'skill_agent' | 'skill_upstream' | 'data_royalty';

/** Part of a fee earned by one payee, in one role, for one model and datanet. */
export interface Credit {
  payee: Address;
  role: CreditRole;
  /** '' for stakers. */
  modelName: string;
  /** 0 where no datanet is concerned. */
  datanetId: number;
  amount: bigint;
}

/** What a receipt's fee is split over: its model's owner and its credited contributions' payees, or its datanets' pools. */
export interface FeeInput {
  fee: bigint;
  split: FeeSplit;
  modelName: string;
  modelOwner: Address;
  contributions: ReadonlyArray<{ contributionId: Hex; datanetId: number; sharePpm: number; contributor: Address; datanetOwner: Address }>;
  /** When attribution abstained (then `contributions` is empty): each datanet's part of the contributors' share. */
  pools?: ReadonlyArray<{ datanetId: number; sharePpm: number; datanetOwner: Address }>;
}

/**
 * Splits `amount` in proportion to `weights`, exactly: floors, then the units left over go one each
 * to the largest remainders (ties to the earlier index). Sums to `amount`; all zeros when the
 * weights are.
 *
 * @example
 * distribute(10n, [1n, 1n, 1n]); // [4n, 3n, 3n]
 */
export function distribute(amount: bigint, weights: readonly bigint[]): bigint[] {
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total === 0n || amount === 0n) return weights.map(() => 0n);
  const parts = weights.map((w) => (amount * w) / total);
  let left = amount - parts.reduce((a, b) => a + b, 0n);
  const order = weights.map((w, i) => ({ i, rem: (amount * w) % total })).sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    parts[i]! += 1n;
    left -= 1n;
  }
  return parts;
}

/**
 * Splits one inference's fee: the model owner's share; the datanet owners' share by each datanet's
 * part of the attribution; the contributors' share by attribution; the stakers' share as one
 * `staker` credit to `stakerPool` (divided among stakers per epoch, {@link splitStakerPool}). An
 * answer whose attribution abstained pays the contributors' share to its datanets' pools and the
 * datanet owners' share by the same parts; one with neither contributions nor pools pays both to
 * the model owner. The credits sum to the fee exactly.
 *
 * @example
 * const credits = splitFee({ fee: 1000n, split, modelName: 'qa', modelOwner, contributions }, STAKER_POOL);
 */
export function splitFee(r: FeeInput, stakerPool: Address): Credit[] {
  const [owner, datanets, contributors, stakers] = distribute(r.fee, [r.split.modelOwnerBps, r.split.datanetOwnersBps, r.split.contributorsBps, r.split.stakersBps].map(BigInt));
  const credits: Credit[] = [];
  const credit = (payee: Address, role: CreditRole, datanetId: number, amount: bigint, modelName = r.modelName) => {
    if (amount > 0n) credits.push({ payee, role, modelName, datanetId, amount });
  };
  if (r.contributions.length === 0 && (r.pools?.length ?? 0) > 0) {
    const pools = [...r.pools!].sort((a, b) => a.datanetId - b.datanetId);
    credit(r.modelOwner, 'model_owner', 0, owner!);
    const weights = pools.map((p) => BigInt(p.sharePpm));
    distribute(contributors!, weights).forEach((a, i) => credit(pools[i]!.datanetOwner, 'datanet_pool', pools[i]!.datanetId, a));
    distribute(datanets!, weights).forEach((a, i) => credit(pools[i]!.datanetOwner, 'datanet_owner', pools[i]!.datanetId, a));
  } else if (r.contributions.length === 0) {
    credit(r.modelOwner, 'model_owner', 0, owner! + datanets! + contributors!);
  } else {
    credit(r.modelOwner, 'model_owner', 0, owner!);
    distribute(contributors!, r.contributions.map((c) => BigInt(c.sharePpm))).forEach((a, i) => {
      const c = r.contributions[i]!;
      credit(c.contributor, 'contributor', c.datanetId, a);
    });
    const byDatanet = new Map<number, { owner: Address; ppm: bigint }>();
    for (const c of r.contributions) {
      const d = byDatanet.get(c.datanetId) ?? { owner: c.datanetOwner, ppm: 0n };
      d.ppm += BigInt(c.sharePpm);
      byDatanet.set(c.datanetId, d);
    }
    const ids = [...byDatanet.keys()].sort((a, b) => a - b);
    distribute(datanets!, ids.map((id) => byDatanet.get(id)!.ppm)).forEach((a, i) => credit(byDatanet.get(ids[i]!)!.owner, 'datanet_owner', ids[i]!, a));
  }
  credit(stakerPool, 'staker', 0, stakers!, '');
  return credits;
}

/**
 * Divides an epoch's stakers' pool among stakers by bonded stake (all of it to `fallback` when no
 * one is staked).
 *
 * @example
 * splitStakerPool(100n, [{ staker: a, bonded: 3n }, { staker: b, bonded: 1n }], operator); // a 75, b 25
 */
export function splitStakerPool(amount: bigint, stakers: ReadonlyArray<{ staker: Address; bonded: bigint }>, fallback: Address): Credit[] {
  const live = stakers.filter((s) => s.bonded > 0n);
  if (live.length === 0) return amount > 0n ? [{ payee: fallback, role: 'staker', modelName: '', datanetId: 0, amount }] : [];
  return distribute(amount, live.map((s) => s.bonded))
    .map((a, i) => ({ payee: live[i]!.staker, role: 'staker' as const, modelName: '', datanetId: 0, amount: a }))
    .filter((c) => c.amount > 0n);
}
