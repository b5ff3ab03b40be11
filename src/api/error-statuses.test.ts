import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NearDuplicateError } from '../datanet/near-duplicates-errors.ts';
import { IntakeError } from '../datanet/intake/errors.ts';
import { QueueFullError } from '../inference/admission.ts';
import { SpanIndexError } from '../attribution/span-index-format.ts';
import { CodedError } from '../util/coded-error.ts';
import { statusOf } from './error-statuses.ts';
import { TooManyStreamsError } from './stream-limit.ts';

test('each error code answers with its HTTP status from the one table; a code not listed is 400, an error without a code 500', () => {
  assert.equal(statusOf(new IntakeError('unsupported_format', 'x')), 415);
  assert.equal(statusOf(new IntakeError('file_too_large', 'x')), 413);
  assert.equal(statusOf(new NearDuplicateError('invalid_near_duplicate_options', 'x')), 400, "options out of range are the caller's fault");
  assert.equal(statusOf(new NearDuplicateError('corrupt_near_duplicate_index', 'x')), 500, "a corrupt stored index is the node's");
  assert.equal(statusOf(new NearDuplicateError('unsupported_near_duplicate_index', 'x')), 500);
  assert.equal(statusOf(new QueueFullError(3)), 429);
  assert.equal(statusOf(new TooManyStreamsError(2)), 429);
  assert.equal(statusOf(new SpanIndexError('invalid_query', 'x')), 400);
  assert.equal(statusOf(new SpanIndexError('span_index_corrupt', 'x')), 500);
  for (const [code, status] of [['model_deactivated', 410], ['payment_required', 402], ['insufficient_funds', 402], ['expires_too_soon', 400], ['remote_engine_unreachable', 502], ['too_many_jobs', 429], ['insufficient_stake', 403], ['upload_quota', 429], ['context_length_exceeded', 400]] as const) {
    assert.equal(statusOf(new CodedError(code, 'x')), status, code);
  }
  assert.equal(statusOf(new CodedError('something_new', 'x')), 400);
  assert.equal(statusOf(new Error('x')), 500);
});
