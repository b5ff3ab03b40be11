import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createStreamLimit, TooManyStreamsError } from './stream-limit.ts';

test('a caller holds at most its limit of streams open; closing one (once, however often called) frees a place', () => {
  const streams = createStreamLimit(2);
  const a = streams.open('10.0.0.1');
  streams.open('10.0.0.1');
  assert.throws(() => streams.open('10.0.0.1'), (err: TooManyStreamsError) => err.code === 'too_many_streams' && err.retryAfterSeconds === 5 && /2 event streams/.test(err.message));
  assert.doesNotThrow(() => streams.open('10.0.0.2'), "another caller's streams are its own");
  a();
  a();
  streams.open('10.0.0.1');
  assert.throws(() => streams.open('10.0.0.1'), TooManyStreamsError, 'a second close of the same stream frees nothing');
});
