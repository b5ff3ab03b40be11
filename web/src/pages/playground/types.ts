import type { RouteOutput, routes } from '../../api.ts';

// The full receipt (`GET /attribution/:id`) as the node defines it.
export type { ReceiptContribution, StoredReceipt } from '../../../../src/attribution/receipt-types.ts';

/** One entry of `GET /v1/models`: a published model (with a price) or a base model (free, unattributed). */
export type ModelEntry = RouteOutput<typeof routes.openAiModels>['data'][number];

/** The `openledger` field of an answer (the last chunk when streamed; all null for a base model). */
export type AnswerAttribution = RouteOutput<typeof routes.openAiChatCompletions>['openledger'];

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
export type ContributionInfo = RouteOutput<typeof routes.getContribution>;

/** `GET /settlement/funds/:address`: what the connected account can spend with this node. */
export type Funds = RouteOutput<typeof routes.getFunds>;
