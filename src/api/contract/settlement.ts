import { z } from 'zod';
import type { EpochSummary } from '../../settlement/epoch-inputs.ts';
import type { RewardEvidence, RewardHistoryRow, Rewards } from '../../settlement/reward-types.ts';
import type { ServedEpoch } from '../../settlement/verify-epoch.ts';
import type { WatchedEpoch } from '../../settlement/watchtower.ts';
import type { Json } from '../../util/json-shape.ts';
import { receiptBody } from './attribution.ts';
import { address, addressInput, agree, hex, time, wei, PG_INTEGER_MAX, type Agrees } from './common.ts';
import { defineRoute } from './route.ts';

// Settlement: consumers hand in spend authorisations and see their funds; payees see their rewards
// with the proof to claim; anyone reads each epoch with the inputs to recompute it.

const uintInput = z.string().regex(/^\d{1,78}$/, 'a non-negative integer (wei), as a decimal string').transform(BigInt).refine((x) => x < 2n ** 256n, 'at most 2^256 - 1');
const addressParam = z.object({ address: addressInput });

export const spendAuthorization = z.object({ consumer: address, operator: address, cumulativeAmount: wei, nonce: wei, expiry: wei });
export const storedAuthorization = z.object({ auth: spendAuthorization, signature: hex, receivedAt: time });

export const funds = z.object({
  consumer: address, operator: address, escrow: address, chainId: z.number().int(),
  authorized: wei, deposit: wei, spent: wei, reserved: wei, available: wei,
  authorization: storedAuthorization.nullable(),
});

const breakdownRow = z.object({ role: z.string(), modelName: z.string(), datanetId: z.number().int(), amount: wei });
export const rewards = z.object({
  payee: address, earned: wei, final: wei, claimed: wei, claimable: wei,
  claim: z.object({ operator: address, epoch: z.number().int(), cumulativeAmount: wei, proof: z.array(hex) }).nullable(),
  breakdown: z.array(breakdownRow),
});
agree<Agrees<typeof rewards, Rewards>>();
const historyRow = breakdownRow.extend({ epoch: z.number().int(), postedAt: time.nullable() });
agree<Agrees<typeof historyRow, RewardHistoryRow>>();
export const rewardEvidence = z.object({
  receiptId: hex, model: z.string(), epoch: z.number().int().nullable(), contributionId: hex, datanetId: z.number().int(), sharePpm: z.number().int(), record: z.string(), quotes: z.array(z.string()),
});
agree<Agrees<typeof rewardEvidence, RewardEvidence>>();

export const epochSummary = z.object({ epoch: z.number().int(), status: z.string(), root: hex, cumulativeTotal: wei, inputsHash: hex, txHash: hex.nullable(), postedAt: time.nullable(), receipts: z.number().int() });
agree<Agrees<typeof epochSummary, EpochSummary>>();

/** A skill call as an epoch serves it (settlement/epoch-tree.ts `EpochCall`). */
export const epochCall = z.object({
  call: z.object({
    callId: hex, parentCallId: hex, skill: hex, agent: address, payer: address, price: wei, inputHash: hex, outputHash: hex,
    inferenceReceipts: z.array(hex), children: z.array(hex),
  }),
  signature: hex,
  block: wei,
  terms: z.object({ dataRoyaltyBps: z.number().int(), upstream: z.array(z.object({ payee: address, bps: z.number().int(), cap: wei })) }),
});

export const servedEpoch = z.object({
  epoch: z.number().int(),
  status: z.string(),
  root: hex,
  inputs: z.object({
    epoch: z.number().int(),
    receipts: z.array(hex),
    payees: z.object({ contributors: z.record(z.string(), address), datanetOwners: z.record(z.string(), address), modelOwners: z.record(z.string(), address) }),
    stakers: z.array(z.object({ staker: address, bonded: wei })),
    operator: address,
    draws: z.array(z.object({ auth: spendAuthorization, signature: hex, drawTo: wei })),
    calls: z.array(epochCall).optional(),
    callFee: z.object({ protocolFeeBps: z.number().int(), treasury: address }).optional(),
  }),
  leaves: z.array(z.tuple([address, wei])),
  receipts: z.array(z.object({ id: hex, body: receiptBody, signature: hex, prompt: z.string(), output: z.string() })),
});
agree<Agrees<typeof servedEpoch, Json<ServedEpoch>>>();

export const epochOutcome = z.union([
  z.object({ kind: z.literal('posted'), epoch: z.number().int(), root: hex, receipts: z.number().int(), total: wei, funded: wei }),
  z.object({ kind: z.enum(['nothing', 'waiting']), reason: z.string() }),
]);

export const submitAuthorization = defineRoute({
  id: 'submitAuthorization', method: 'POST', path: '/settlement/authorizations', tag: 'settlement', auth: 'none', status: 201,
  summary: "Hand in a consumer's EIP-712 spend authorisation for this node (the signature is the authentication)",
  body: z.object({
    auth: z.object({ consumer: addressInput, operator: addressInput, cumulativeAmount: uintInput, nonce: uintInput, expiry: uintInput }).strict(),
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'a 65-byte signature').transform((s) => s as `0x${string}`),
  }).strict(),
  response: storedAuthorization,
});
export const getFunds = defineRoute({ id: 'getFunds', method: 'GET', path: '/settlement/funds/:address', tag: 'settlement', auth: 'none', summary: 'What a consumer can spend on this node', params: addressParam, response: funds });
export const getRewards = defineRoute({ id: 'getRewards', method: 'GET', path: '/settlement/rewards/:address', tag: 'settlement', auth: 'none', summary: "A payee's earned, claimable and claimed rewards, with the proof to claim", params: addressParam, response: rewards });
export const getRewardHistory = defineRoute({ id: 'getRewardHistory', method: 'GET', path: '/settlement/rewards/:address/history', tag: 'settlement', auth: 'none', summary: "A payee's credits per epoch", params: addressParam, response: z.object({ history: z.array(historyRow) }) });
export const getRewardEvidence = defineRoute({
  id: 'getRewardEvidence', method: 'GET', path: '/settlement/rewards/:address/evidence', tag: 'settlement', auth: 'none', summary: "The paid answers that credited a payee's contributions, newest first",
  params: addressParam, query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) }), response: z.object({ evidence: z.array(rewardEvidence) }),
});
export const listEpochs = defineRoute({ id: 'listEpochs', method: 'GET', path: '/settlement/epochs', tag: 'settlement', auth: 'none', summary: "This node's epochs, newest first", response: z.object({ epochs: z.array(epochSummary) }) });
export const getEpochInputs = defineRoute({
  id: 'getEpochInputs', method: 'GET', path: '/settlement/epochs/:epoch/inputs', tag: 'settlement', auth: 'none', summary: 'An epoch with everything its root was computed from',
  params: z.object({ epoch: z.coerce.number().int().min(1).max(PG_INTEGER_MAX) }), response: servedEpoch,
});
export const watchedEpoch = z.object({
  operator: address, epoch: z.number().int(), verdict: z.enum(['ok', 'problems', 'disputed']), problems: z.array(z.string()), bond: wei.nullable(), checkedAt: time,
});
agree<Agrees<typeof watchedEpoch, WatchedEpoch>>();

export const listWatchedEpochs = defineRoute({
  id: 'listWatchedEpochs', method: 'GET', path: '/settlement/watched', tag: 'settlement', auth: 'none',
  summary: "What this node's watchtower checked: other operators' epochs, recomputed, and what it found or disputed (newest first)",
  query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }), response: z.object({ watched: z.array(watchedEpoch) }),
});
export const runEpoch = defineRoute({ id: 'runEpoch', method: 'POST', path: '/settlement/epochs', tag: 'settlement', auth: 'signed', summary: "Run the epoch job now (the node's operator)", response: epochOutcome });
