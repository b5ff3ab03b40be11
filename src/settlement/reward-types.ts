import type { Address, Hex } from 'viem';

// The shapes of the rewards API (`GET /settlement/rewards/:address[/history|/evidence]`), browser-safe
// so the web app reads the same definitions the node writes.

/** Earnings by role, model ('' for stakers) and datanet (0 where none is concerned), in wei. */
export interface RewardBreakdownRow {
  role: string;
  modelName: string;
  datanetId: number;
  amount: string;
}

/** A payee's earnings: what the posted roots give it, what it can claim now (with the proof), what it claimed. */
export interface Rewards {
  payee: Address;
  /** Cumulative earnings in the newest posted root (final or not). */
  earned: string;
  /** Cumulative earnings in the final root (the one claims are checked against). */
  final: string;
  claimed: string;
  claimable: string;
  /** The epoch and proof to claim with (null when nothing is claimable). */
  claim: { operator: Address; epoch: number; cumulativeAmount: string; proof: Hex[] } | null;
  /** Earnings by role, model and datanet, over every epoch not reverted. */
  breakdown: RewardBreakdownRow[];
}

/** A payee's credits per epoch (not reverted), by role, model and datanet: earnings over time. */
export interface RewardHistoryRow extends RewardBreakdownRow {
  epoch: number;
  postedAt: string | null;
}

/** One paid answer that credited one of a payee's contributions: why the payee earned. */
export interface RewardEvidence {
  receiptId: Hex;
  model: string;
  epoch: number | null;
  contributionId: Hex;
  datanetId: number;
  sharePpm: number;
  /** The payee's record, as contributed. */
  record: string;
  /** The parts of the answer found verbatim in the record. */
  quotes: string[];
}
