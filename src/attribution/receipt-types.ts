import type { Address, Hex } from 'viem';
import type { InfluenceMethod } from './influence.ts';

// The shapes of attribution receipts (what the node signs, stores and serves at
// `GET /attribution/:id`): types only and browser-safe, so the web app reads the same definitions
// the node writes.

/**
 * A credited contribution in a receipt: its share of the contributors' part of the fee and the
 * evidence. It stands for its contribution group (contributions that say the same thing), of which
 * it is the earliest: the group is credited once, through it.
 */
export interface ReceiptContribution {
  contributionId: Hex;
  datanetId: number;
  /** Parts per million; a receipt's shares sum to 1,000,000 (or it credits nobody). */
  sharePpm: number;
  /** The normalised span and influence scores the share was combined from. */
  span: number;
  influence: number;
  /** Character ranges [start, end) of the output that occur verbatim in its group. */
  spans: Array<[number, number]>;
  /** Its group: how many contributions say the same thing, and the first few of the others (earliest first), credited through this one. */
  group: { size: number; others: Hex[] };
}

/** When attribution abstains, the contributors' share goes to the datanets' pools, split by datanet. */
export interface DatanetPoolShare {
  datanetId: number;
  /** Parts per million of the contributors' share; a receipt's pool shares sum to 1,000,000. */
  sharePpm: number;
}

/** How well a receipt's attribution is supported (see attribution/evidence.ts). */
export interface ReceiptEvidence {
  /** Share (0..1) of the output's information content found verbatim in the training data. */
  coverage: number;
  /** The strongest influence's distance above the null baseline, in robust standard deviations. */
  influenceMargin: number;
  /** Share (0..1) of the output's information the fine-tuning supplied (base − tuned surprisal). */
  adapterGain: number;
  scorePpm: number;
  /** Under the governance threshold: contributions are not credited, `pools` are. */
  abstained: boolean;
}

/** Shares of an inference fee in basis points (sum 10,000): governance's split, read from chain. */
export interface FeeSplit {
  modelOwnerBps: number;
  datanetOwnersBps: number;
  contributorsBps: number;
  stakersBps: number;
}

/** What the node signs for every inference (version 2: attribution v2 — groups, evidence, pools). */
export interface ReceiptBody {
  version: 2;
  node: Address;
  chainId: number;
  model: { id: string | null; name: string; version: number; baseModel: Hex; adapter: Hex; trace: Hex };
  input: { hash: Hex; tokens: number };
  output: { hash: Hex; tokens: number };
  /** The fee (wei of OPEN) and the split in force when it was charged. */
  fee: { pricePer1kTokens: string; amount: string; split: FeeSplit };
  /** Everything the attribution depended on besides the model and its trace. */
  parameters: ReceiptParameters;
  contributions: ReceiptContribution[];
  /** Non-empty only when the attribution abstained (then `contributions` is empty). */
  pools: DatanetPoolShare[];
  evidence: ReceiptEvidence;
  createdAt: string;
  /** The skill call this inference was run for, and paid from (settlement/skill-calls.ts): absent when its consumer pays it. */
  call?: Hex;
}

/** The parameters a receipt's attribution was computed with: governance's (read from chain) and the node's. */
export interface ReceiptParameters {
  spanWeightBps: number;
  thresholdPpm: number;
  evidenceThresholdPpm: number;
  groupThreshold: number;
  influence: InfluenceMethod;
  damping: number;
  nullZ: number;
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
