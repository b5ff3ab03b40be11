import { CodedError } from '../util/coded-error.ts';

/**
 * What each error code means to HTTP: the one table from the node's error codes (domain errors and
 * the API's own) to the status the API answers with. A code not listed is a 400 (the request
 * cannot be done as asked); an error without a code is a 500.
 */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  // 401: who is asking is not established
  unauthorized: 401, unsigned_request: 401, bad_signature: 401, stale_signature: 401, replayed_request: 401,
  // 402: not paid for
  payment_required: 402, insufficient_funds: 402, over_budget: 402,
  // 403: established, but not allowed
  forbidden: 403, host_not_allowed: 403, method_not_relayed: 403, insufficient_stake: 403,
  // 404: no such thing
  not_found: 404, model_not_found: 404, unknown_agent: 404, unknown_skill: 404, not_metered: 404, not_published: 404, span_index_missing: 404,
  // 409: conflicts with the state it is in
  name_taken: 409, agent_exists: 409, skill_exists: 409, base_model_missing: 409, empty_snapshot: 409, not_anchored: 409, not_cancellable: 409, not_pending: 409, stale: 409,
  shorter_expiry: 409, snapshot_not_recorded: 409, model_mismatch: 409, receipt_version: 409, span_index_exists: 409,
  // 410: gone
  model_deactivated: 410,
  // 421: the right operator, the wrong process (an extra serving process, not the primary)
  primary_only: 421,
  // 413, 415: the body's size or type
  file_too_large: 413, unsupported_format: 415, not_multipart: 415, unsupported_media_type: 415,
  // 422: understood, but not to be done as asked
  idempotency_key_reused: 422, call_tree_too_deep: 422,
  // 429: too much, retry later (with Retry-After where the error says when)
  queue_full: 429, quota_exceeded: 429, too_many_jobs: 429, upload_quota: 429, too_many_streams: 429, remote_engine_busy: 429,
  // 499: the client went away
  cancelled: 499,
  // 500: the node's own fault
  bad_chat_template: 500, gpu_device_error: 500, span_index_closed: 500, span_index_corrupt: 500, span_index_unreadable: 500,
  span_index_unsupported: 500, unpublishable_model: 500, corrupt_near_duplicate_index: 500, unsupported_near_duplicate_index: 500,
  // 502, 503: what the node depends on failed, or is full
  bad_trace: 502, blob_unavailable: 502, unmirrorable_model: 502, remote_engine_error: 502, remote_engine_unreachable: 502,
  adapter_cache_full: 503, kv_cache_full: 503, llama_cpp_unavailable: 503,
};

/**
 * The HTTP status of an error: from {@link ERROR_STATUS} by its code (400 for a code not listed),
 * 500 for anything else.
 *
 * @example
 * reply.status(statusOf(err));
 */
export function statusOf(err: unknown): number {
  if (err instanceof CodedError) return ERROR_STATUS[err.code] ?? 400;
  return 500;
}
