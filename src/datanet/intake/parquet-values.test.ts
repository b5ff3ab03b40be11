import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonObjectOf, jsonValueOf } from './parquet-values.ts';

test('BigInt: a number when safe, else its decimal string', () => {
  assert.equal(jsonValueOf(0n), 0);
  assert.equal(jsonValueOf(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.equal(jsonValueOf(-BigInt(Number.MAX_SAFE_INTEGER)), -Number.MAX_SAFE_INTEGER);
  assert.equal(jsonValueOf(BigInt(Number.MAX_SAFE_INTEGER) + 1n), '9007199254740992');
  assert.equal(jsonValueOf(-(2n ** 63n)), '-9223372036854775808');
});

test('other values: non-finite numbers, dates, bytes, lists, structs, maps, missing values', () => {
  assert.equal(jsonValueOf(NaN), null);
  assert.equal(jsonValueOf(-Infinity), null);
  assert.equal(jsonValueOf(undefined), null);
  assert.equal(jsonValueOf(new Date(86_400_000)), '1970-01-02T00:00:00.000Z');
  assert.equal(jsonValueOf(new Date(NaN)), null);
  assert.equal(jsonValueOf(Uint8Array.from([0, 255])), 'AP8=');
  assert.deepEqual(jsonValueOf(Float32Array.from([0.5])), [0.5]);
  assert.deepEqual(jsonValueOf([1n, [2n, null]]), [1, [2, null]]);
  assert.deepEqual(jsonValueOf(new Map<unknown, unknown>([[1, 2n], ['k', 'v']])), { 1: 2, k: 'v' });
  const row = jsonObjectOf({ s: { n: 3n, t: 'x' }, __proto__x: 1 });
  assert.deepEqual(row, { s: { n: 3, t: 'x' }, __proto__x: 1 });
  const proto = jsonObjectOf(JSON.parse('{"__proto__": 5}'));
  assert.deepEqual(Object.keys(proto), ['__proto__'], '__proto__ stays an own field');
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
});
