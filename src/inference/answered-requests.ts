import { keccak256, toBytes, type Address, type Hex } from 'viem';
import type { FinishReason } from '../model/generate.ts';
import type { AttributedSpan } from '../attribution/span-signal.ts';
import type { Queryable } from '../store/database.ts';
import type { CompletionRequest } from '../serve/engine.ts';
import { CodedError } from '../util/coded-error.ts';

/** An `Idempotency-Key`: 1 to 255 visible ASCII characters (the IETF draft's header, as Stripe and OpenAI read it). */
export const REQUEST_KEY = /^[\x21-\x7e]{1,255}$/;

/** What a request with a key was first answered with (its receipt is stored by attribution). */
export interface AnsweredRequest {
  receiptId: Hex;
  output: string;
  finishReason: FinishReason;
  spans: AttributedSpan[];
  usage: { promptTokens: number; completionTokens: number };
}

/** The hash that tells one request from another under one key: the model, the prompt and the sampling. */
export function requestHashOf(r: Pick<CompletionRequest, 'prompt' | 'maxTokens' | 'temperature' | 'topP' | 'seed' | 'stop'> & { model: string }): Hex {
  return keccak256(toBytes(JSON.stringify([r.model, r.prompt, r.maxTokens, r.temperature, r.topP, r.seed, r.stop ?? []])));
}

/**
 * The earlier answer to `consumer`'s request under `key`, or undefined when there is none. A key
 * first used for a different request is a 422 `idempotency_key_reused`.
 *
 * @example
 * const earlier = await answeredRequest(db, consumer, 'req-1', requestHashOf(request));
 */
export async function answeredRequest(db: Queryable, consumer: Address, key: string, requestHash: Hex): Promise<AnsweredRequest | undefined> {
  const [row] = await db.query<{ request_hash: string; receipt_id: string; answer: Omit<AnsweredRequest, 'receiptId'> }>(
    'select request_hash, receipt_id, answer from answered_requests where consumer = $1 and request_key = $2',
    [consumer, key],
  );
  if (!row) return undefined;
  if (row.request_hash !== requestHash) throw new CodedError('idempotency_key_reused', `the Idempotency-Key "${key}" was used for a different request; use a new key for a new request`);
  return { ...row.answer, receiptId: row.receipt_id as Hex };
}

/** The key is taken already (a concurrent retry stored its receipt first): this one rolls back. */
export class RequestAnsweredError extends Error {
  override name = 'RequestAnsweredError';
}

/**
 * Records `answer` under `consumer`'s `key`, in the transaction `tx` that stores its receipt; throws
 * {@link RequestAnsweredError} when the key already has an answer (the transaction then rolls back,
 * the receipt with it: one key, one receipt).
 */
export async function recordAnsweredRequest(tx: Queryable, consumer: Address, key: string, requestHash: Hex, answer: AnsweredRequest): Promise<void> {
  const { receiptId, ...rest } = answer;
  const inserted = await tx.query(
    `insert into answered_requests (consumer, request_key, request_hash, receipt_id, answer) values ($1, $2, $3, $4, $5)
     on conflict (consumer, request_key) do nothing returning request_key`,
    [consumer, key, requestHash, receiptId, JSON.stringify(rest)],
  );
  if (inserted.length === 0) throw new RequestAnsweredError(`the request ${key} of ${consumer} was answered already`);
}

/** How long a key is remembered: a retry within it is answered from the store (as Stripe keeps keys for a day). */
export const REQUEST_KEY_HOURS = 24;

/**
 * Forgets the keys older than {@link REQUEST_KEY_HOURS} (their receipts stay); returns how many.
 *
 * @example
 * repeat(() => pruneAnsweredRequests(db), 600_000, log).start();
 */
export async function pruneAnsweredRequests(db: Queryable): Promise<number> {
  return (await db.query('delete from answered_requests where created_at < now() - make_interval(hours => $1) returning request_key', [REQUEST_KEY_HOURS])).length;
}
