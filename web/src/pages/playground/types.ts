import type { Address, Hex } from 'viem';

// The full receipt (`GET /attribution/:id`) as the node defines it.
import type { DatanetPoolShare, ReceiptEvidence } from '../../../../src/attribution/receipt-types.ts';
export type { ReceiptContribution, StoredReceipt } from '../../../../src/attribution/receipt-types.ts';

/** One entry of `GET /v1/models`: a published model (with a price) or a base model (free, unattributed). */
export interface ModelEntry {
  id: string;
  owned_by: string;
  openledger: { modelId: string | null; baseModel: string; adapter: string | null; pricePer1kTokens: string };
}

/** The `openledger` field of a streamed answer's last chunk (all null for a base model). */
export interface AnswerAttribution {
  receipt_id: Hex | null;
  fee: { pricePer1kTokens: string; amount: string } | null;
  attribution: {
    contributions: Array<{ contributionId: Hex; datanetId: number; sharePpm: number; spans: Array<[number, number]> }>;
    spans: Array<{ start: number; end: number; count: number; contributions: Hex[] }>;
    evidence: ReceiptEvidence;
    pools: DatanetPoolShare[];
  } | null;
}

/** A chat turn: what was asked, or what the model answered with its attribution once complete. */
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  model?: string;
  openledger?: AnswerAttribution;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  finish?: string;
}

/** `GET /contributions/:id`: who contributed it and where. */
export interface ContributionInfo {
  id: Hex;
  datanetId: number;
  contributor: Address;
  record: string | Record<string, unknown>;
  status: string;
}

/** `GET /settlement/funds/:address`: what the connected account can spend with this node. */
export interface Funds {
  consumer: Address;
  operator: Address;
  escrow: Address;
  chainId: number;
  authorized: string;
  deposit: string;
  spent: string;
  reserved: string;
  available: string;
  authorization: { auth: { cumulativeAmount: string; nonce: string; expiry: string } } | null;
}
