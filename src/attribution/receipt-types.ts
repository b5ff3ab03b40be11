import type { Address, Hex } from 'viem';

// The shapes of attribution receipts (what the node signs, stores and serves at
// `GET /attribution/:id`): types only and browser-safe, so the web app reads the same definitions
// the node writes.

/** A credited contribution in a receipt: its share of the contributors' part of the fee and the evidence. */
export interface ReceiptContribution {
  contributionId: Hex;
  datanetId: number;
  /** Parts per million; a receipt's shares sum to 1,000,000 (or it credits nobody). */
  sharePpm: number;
  /** The normalised span and gradient scores the share was combined from. */
  span: number;
  gradient: number;
  /** Character ranges [start, end) of the output that occur verbatim in this contribution. */
  spans: Array<[number, number]>;
}

/** Shares of an inference fee in basis points (sum 10,000): governance's split, read from chain. */
export interface FeeSplit {
  modelOwnerBps: number;
  datanetOwnersBps: number;
  contributorsBps: number;
  stakersBps: number;
}

/** What the node signs for every inference. */
export interface ReceiptBody {
  version: 1;
  node: Address;
  chainId: number;
  model: { id: string | null; name: string; version: number; baseModel: Hex; adapter: Hex; trace: Hex };
  input: { hash: Hex; tokens: number };
  output: { hash: Hex; tokens: number };
  /** The fee (wei of OPEN) and the split in force when it was charged. */
  fee: { pricePer1kTokens: string; amount: string; split: FeeSplit };
  /** Everything the attribution depended on besides the model and its trace. */
  parameters: { spanWeightBps: number; thresholdPpm: number; minSpanLength: number; commonTokenCount: number; sketchDimension: number; sketchSeed: number };
  contributions: ReceiptContribution[];
  createdAt: string;
}

/** A signed receipt: `id` is keccak256 of the body's canonical JSON, signed by the node (EIP-191). */
export interface Receipt {
  id: Hex;
  body: ReceiptBody;
  signature: Hex;
}

/** A stored receipt with the texts it was computed from. */
export interface StoredReceipt extends Receipt {
  prompt: string;
  output: string;
  consumer: Address | null;
}
