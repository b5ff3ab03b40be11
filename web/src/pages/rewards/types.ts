import type { Address, Hex } from 'viem';

/** `GET /settlement/rewards/:address`: earned / final / claimed / claimable, the claim proof and the breakdown. */
export interface Rewards {
  payee: Address;
  earned: string;
  final: string;
  claimed: string;
  claimable: string;
  claim: { epoch: number; cumulativeAmount: string; proof: Hex[] } | null;
  breakdown: BreakdownRow[];
}

/** Earnings by role, model ('' for stakers) and datanet (0 where none is concerned), in wei. */
export interface BreakdownRow {
  role: string;
  modelName: string;
  datanetId: number;
  amount: string;
}

/** `GET /settlement/rewards/:address/history`: one epoch's credit for one role, model and datanet. */
export interface HistoryRow extends BreakdownRow {
  epoch: number;
  postedAt: string | null;
}

/** `GET /settlement/rewards/:address/evidence`: an answer that credited one of the payee's contributions. */
export interface Evidence {
  receiptId: Hex;
  model: string;
  epoch: number | null;
  contributionId: Hex;
  datanetId: number;
  sharePpm: number;
  record: string;
  quotes: string[];
}

/** `GET /settlement/epochs`: a settlement epoch this node prepared. */
export interface Epoch {
  epoch: number;
  status: string;
  root: Hex;
  cumulativeTotal: string;
  inputsHash: Hex;
  txHash: Hex | null;
  postedAt: string | null;
  receipts: number;
}

/** A role as people say it. */
export const roleName = (role: string): string =>
  ({ model_owner: 'model owner', datanet_owner: 'datanet owner', contributor: 'contributor', staker: 'staker' })[role] ?? role;
