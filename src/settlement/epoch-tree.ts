import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import canonicalize from 'canonicalize';
import { keccak256, stringToBytes, type Address, type Hex } from 'viem';
import type { ReceiptBody } from '../attribution/receipt-types.ts';
import { splitFee, splitStakerPool, type Credit } from './fee-split.ts';

// An epoch's arithmetic, pure and browser-safe: what its inputs are, the credits they give, the
// tree of cumulative earnings and the inputs' hash. The epoch job (epoch.ts) computes an epoch with
// it; anyone recomputing one — the CLI's `settlement verify`, the web app, a watchtower — uses the
// same functions (verify-epoch.ts).

/** The settlement contract's epoch statuses. */
export const EpochStatus = { None: 0, Pending: 1, Disputed: 2, Finalized: 3, Reverted: 4 } as const;

/** One consumer's draw in an epoch: its authorisation and the cumulative spend drawn up to. */
export interface EpochDraw {
  auth: { consumer: Address; operator: Address; cumulativeAmount: string; nonce: string; expiry: string };
  signature: Hex;
  drawTo: string;
}

/** Everything an epoch's root was computed from, stored and served so anyone can recompute it. */
export interface EpochInputs {
  epoch: number;
  /** Receipts settled in this epoch, in order. */
  receipts: Hex[];
  /** Who the fee shares go to: each contribution's contributor, each datanet's and model's owner. */
  payees: { contributors: Record<string, Address>; datanetOwners: Record<string, Address>; modelOwners: Record<string, Address> };
  /** Bonded stake per staker (both roles) when the epoch was prepared; the stakers' pool is split by it. */
  stakers: Array<{ staker: Address; bonded: string }>;
  /** Receives the stakers' pool when nobody is staked: the operator. */
  operator: Address;
  draws: EpochDraw[];
}

/** Leaves: every payee's cumulative earnings over all non-reverted epochs up to this one. */
export type EpochLeaves = Array<[Address, string]>;

/**
 * The credits of an epoch from its inputs and its receipts' bodies: each fee split by the split in
 * its receipt, the stakers' pool divided by bonded stake. Pure: `settlement verify` runs it too.
 *
 * @example
 * const credits = epochCredits(inputs, bodies);
 */
export function epochCredits(inputs: EpochInputs, bodies: ReadonlyArray<ReceiptBody>): Credit[] {
  const POOL = '0x0000000000000000000000000000000000000001' as Address;
  const credits: Credit[] = [];
  let pool = 0n;
  for (const b of bodies) {
    const owner = inputs.payees.modelOwners[b.model.name];
    if (!owner) throw new Error(`epoch ${inputs.epoch}: no owner for model ${b.model.name}`);
    const contributions = b.contributions.map((c) => ({
      contributionId: c.contributionId, datanetId: c.datanetId, sharePpm: c.sharePpm,
      contributor: inputs.payees.contributors[c.contributionId]!, datanetOwner: inputs.payees.datanetOwners[String(c.datanetId)]!,
    }));
    const pools = (b.pools ?? []).map((p) => ({ datanetId: p.datanetId, sharePpm: p.sharePpm, datanetOwner: inputs.payees.datanetOwners[String(p.datanetId)]! }));
    for (const c of splitFee({ fee: BigInt(b.fee.amount), split: b.fee.split, modelName: b.model.name, modelOwner: owner, contributions, pools }, POOL)) {
      if (c.payee === POOL) pool += c.amount;
      else credits.push(c);
    }
  }
  credits.push(...splitStakerPool(pool, inputs.stakers.map((s) => ({ staker: s.staker, bonded: BigInt(s.bonded) })), inputs.operator));
  return aggregate(credits);
}

/** Sums credits with the same payee, role, model and datanet. */
function aggregate(credits: Credit[]): Credit[] {
  const m = new Map<string, Credit>();
  for (const c of credits) {
    const k = `${c.payee}|${c.role}|${c.modelName}|${c.datanetId}`;
    const e = m.get(k);
    if (e) e.amount += c.amount;
    else m.set(k, { ...c });
  }
  return [...m.values()];
}

/**
 * The Merkle tree of cumulative earnings (OpenZeppelin standard leaves of (address, uint256), as
 * AttributionSettlement checks them), from the previous cumulative amounts plus this epoch's credits.
 *
 * @example
 * const { tree, leaves, total } = earningsTree(previous, credits);
 */
export function earningsTree(previous: ReadonlyMap<Address, bigint>, credits: readonly Credit[]): { tree: StandardMerkleTree<[string, string]>; leaves: EpochLeaves; total: bigint } {
  const sums = new Map(previous);
  for (const c of credits) sums.set(c.payee, (sums.get(c.payee) ?? 0n) + c.amount);
  const leaves: EpochLeaves = [...sums].filter(([, a]) => a > 0n).sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)).map(([p, a]) => [p, a.toString()]);
  const total = leaves.reduce((n, [, a]) => n + BigInt(a), 0n);
  return { tree: StandardMerkleTree.of(leaves.length > 0 ? leaves : [['0x0000000000000000000000000000000000000000', '0']], ['address', 'uint256']), leaves, total };
}

/** keccak256 of an epoch's inputs in canonical JSON (RFC 8785): the `inputsHash` posted on chain. */
export const inputsHash = (inputs: EpochInputs): Hex => keccak256(stringToBytes(canonicalize(inputs)!));

