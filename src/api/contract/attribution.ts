import { z } from 'zod';
import { influenceMethods } from '../../attribution/influence.ts';
import type { ReceiptBody, StoredReceipt } from '../../attribution/receipt-types.ts';
import type { Json } from '../../util/json-shape.ts';
import { address, agree, hex, time, wei, type Agrees } from './common.ts';
import { defineRoute } from './route.ts';

// What anyone may read to check an inference: its signed receipt and the content-addressed blobs
// (adapters, traces, datanet metadata) a verifier needs.

const range = z.tuple([z.number().int(), z.number().int()]);

export const feeSplit = z.object({ modelOwnerBps: z.number().int(), datanetOwnersBps: z.number().int(), contributorsBps: z.number().int(), stakersBps: z.number().int() });
export const receiptEvidence = z.object({ coverage: z.number(), influenceMargin: z.number(), adapterGain: z.number(), scorePpm: z.number().int(), abstained: z.boolean() });
export const datanetPoolShare = z.object({ datanetId: z.number().int(), sharePpm: z.number().int() });
export const fee = z.object({ pricePer1kTokens: wei, amount: wei, split: feeSplit });

export const receiptBody = z.object({
  version: z.literal(2),
  node: address,
  chainId: z.number().int(),
  model: z.object({ id: z.string().nullable(), name: z.string(), version: z.number().int(), baseModel: hex, adapter: hex, trace: hex }),
  input: z.object({ hash: hex, tokens: z.number().int() }),
  output: z.object({ hash: hex, tokens: z.number().int() }),
  fee,
  parameters: z.object({
    spanWeightBps: z.number().int(), thresholdPpm: z.number().int(), evidenceThresholdPpm: z.number().int(), groupThreshold: z.number(),
    influence: z.enum(influenceMethods), damping: z.number(), nullZ: z.number(),
  }),
  contributions: z.array(z.object({
    contributionId: hex, datanetId: z.number().int(), sharePpm: z.number().int(), span: z.number(), influence: z.number(),
    spans: z.array(range), group: z.object({ size: z.number().int(), others: z.array(hex) }),
  })),
  pools: z.array(datanetPoolShare),
  evidence: receiptEvidence,
  createdAt: time,
  /** The skill call this inference was run for (absent: its consumer paid it). */
  call: hex.optional(),
});
agree<Agrees<typeof receiptBody, Json<ReceiptBody>>>();

export const storedReceipt = z.object({ id: hex, body: receiptBody, signature: hex, prompt: z.string(), output: z.string(), consumer: address.nullable() });
agree<Agrees<typeof storedReceipt, Json<StoredReceipt>>>();

/** What an answer says about its attribution, at both inference doors (inference/attribution-summary.ts). */
export const attributionSummary = z.object({
  contributions: z.array(z.object({ contributionId: hex, datanetId: z.number().int(), sharePpm: z.number().int(), spans: z.array(range) })),
  spans: z.array(z.object({ start: z.number().int(), end: z.number().int(), count: z.number().int(), contributions: z.array(hex) })),
  evidence: receiptEvidence,
  pools: z.array(datanetPoolShare),
});

export const getReceipt = defineRoute({
  id: 'getReceipt', method: 'GET', path: '/attribution/:receiptId', tag: 'attribution', auth: 'none',
  summary: 'A signed attribution receipt with the prompt and output it was computed from',
  params: z.object({ receiptId: z.string().max(66) }), response: storedReceipt,
});
export const getBlob = defineRoute({
  id: 'getBlob', method: 'GET', path: '/blobs/:hash', tag: 'attribution', auth: 'none', produces: 'application/octet-stream',
  summary: 'A content-addressed blob (adapter, trace, datanet metadata): its keccak256 is its name',
  params: z.object({ hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a blob hash (0x + 64 hex digits)') }),
});
