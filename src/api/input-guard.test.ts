import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Fastify from 'fastify';
import { keepRawJsonBodies } from './authenticate.ts';
import { frameworkErrors, installErrorHandler } from './errors.ts';
import { badTextAt, jsonDeeperThan, MAX_JSON_DEPTH, refuseBadText } from './input-guard.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('jsonDeeperThan', () => {
  test('counts nested arrays and objects, not brackets inside strings', () => {
    assert.equal(jsonDeeperThan(bytes('[[1]]'), 1), true);
    assert.equal(jsonDeeperThan(bytes('[[1]]'), 2), false);
    assert.equal(jsonDeeperThan(bytes('{"a":{"b":[1]}}'), 2), true);
    assert.equal(jsonDeeperThan(bytes('[1,[2],[3],{"a":4}]'), 2), false, 'siblings do not add up');
    assert.equal(jsonDeeperThan(bytes('["[[[[", "{{{{"]'), 1), false);
    assert.equal(jsonDeeperThan(bytes('["\\"[[[[", "\\\\", [1]]'), 1), true, 'an escaped quote does not end the string, an escaped backslash does not escape the quote');
  });

  test('scans a megabyte of nesting in linear time', () => {
    const deep = bytes(`${'['.repeat(500_000)}${']'.repeat(500_000)}`);
    const started = performance.now();
    assert.equal(jsonDeeperThan(deep, MAX_JSON_DEPTH), true);
    assert.equal(jsonDeeperThan(deep, 1_000_000), false);
    assert.ok(performance.now() - started < 1000);
  });
});

describe('badTextAt', () => {
  test('names the path of the first string or key with U+0000', () => {
    assert.deepEqual(badTextAt({ a: [1, { b: 'x\0y' }] })?.path, ['a', 1, 'b']);
    assert.deepEqual(badTextAt({ a: { 'k\0': 1 } })?.path, ['a', 'k\0']);
    assert.deepEqual(badTextAt('\0')?.path, []);
    assert.equal(badTextAt({ a: ['ok', null, 1, true] }), undefined);
  });

  test('names the path of the first string or key with an unpaired surrogate; paired ones (emoji) pass', () => {
    const parsed = JSON.parse('{"records":["fine",{"question":"\\ud800","answer":"x"}]}') as unknown;
    assert.deepEqual(badTextAt(parsed), { path: ['records', 1, 'question'], message: 'must be valid Unicode (no unpaired surrogate such as \\ud800)' });
    assert.deepEqual(badTextAt({ ['k\udc00']: 1 })?.path, ['k\udc00']);
    assert.equal(badTextAt({ a: 'a 😀 b', b: '\ud83d\ude00' }), undefined);
  });

  test('walks a deeply nested value without recursion, in linear time', () => {
    const depth = 200_000;
    const deep = JSON.parse(`${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}`) as unknown;
    const started = performance.now();
    assert.equal(badTextAt(deep)?.path.length, depth);
    assert.ok(performance.now() - started < 2000);
  });
});

describe('the API boundary', () => {
  const app = async () => {
    const a = Fastify({ frameworkErrors });
    installErrorHandler(a);
    keepRawJsonBodies(a);
    refuseBadText(a);
    a.get('/things/:name', async (request) => ({ params: request.params, query: request.query }));
    a.post('/things', async (request) => ({ body: request.body }));
    await a.ready();
    return a;
  };

  test('a NUL character in a path parameter, the query or the body is a 400 naming the field', async () => {
    const a = await app();
    for (const [res, field] of [
      [await a.inject({ method: 'GET', url: '/things/a%00b' }), 'name'],
      [await a.inject({ method: 'GET', url: '/things/x?q=%00' }), 'q'],
      [await a.inject({ method: 'POST', url: '/things', payload: { records: ['fine', 'not\0fine'] } }), 'records.1'],
    ] as const) {
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json() as { error: string; message: string; issues: { field: string }[] };
      assert.equal(body.error, 'bad_request');
      assert.equal(body.issues[0]?.field, field);
      assert.match(body.message, new RegExp(`^${field.replace('.', '\\.')}: must not contain NUL characters`));
    }
    assert.equal((await a.inject({ method: 'GET', url: '/things/%C3%A9?q=%F0%9F%98%80' })).statusCode, 200);
    await a.close();
  });

  test('an unpaired surrogate in a JSON body (a record no hash can be taken of) is a 400 naming the field', async () => {
    const a = await app();
    const res = await a.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: '{"records":["fine",{"question":"\\ud800","answer":"x"}]}' });
    assert.equal(res.statusCode, 400, res.body);
    const body = res.json() as { error: string; issues: { field: string }[] };
    assert.equal(body.error, 'bad_request');
    assert.equal(body.issues[0]?.field, 'records.1.question');
    await a.close();
  });

  test('JSON nested deeper than the limit is a 400 json_too_deep; at the limit it is parsed', async () => {
    const a = await app();
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const deep = await a.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: nested(MAX_JSON_DEPTH + 1) });
    assert.equal(deep.statusCode, 400);
    assert.equal((deep.json() as { error: string }).error, 'json_too_deep');
    assert.equal((await a.inject({ method: 'POST', url: '/things', headers: { 'content-type': 'application/json' }, payload: nested(MAX_JSON_DEPTH) })).statusCode, 200);
    await a.close();
  });

  test('a URL that does not decode is a 400 in the API format', async () => {
    const a = await app();
    const res = await a.inject({ method: 'GET', url: '/things/%zz' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(Object.keys(res.json() as object).sort(), ['error', 'message']);
    assert.equal((res.json() as { error: string }).error, 'fst_err_bad_url');
    await a.close();
  });
});
