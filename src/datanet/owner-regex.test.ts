import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDefinition } from './definition.ts';
import { compileOwnerRegex, OwnerRegexError } from './owner-regex.ts';
import { recordChecks } from './validate-record.ts';

const bytes = (r: unknown) => new TextEncoder().encode(JSON.stringify(r));
// 2^40 paths for a backtracking engine: V8's RegExp would not return within the test's lifetime
const evil = `${'a'.repeat(40)}b`;

describe('owner regular expressions run in linear time', () => {
  it('a catastrophic forbidden pattern answers at once, and still matches what it should', () => {
    const re = compileOwnerRegex('^(a+)+$', { caseInsensitive: true });
    assert.equal(re.test(evil), false);
    assert.equal(re.test('AAAA'), true);
    assert.equal(compileOwnerRegex('casino|lottery', { caseInsensitive: true }).test('Win the LOTTERY'), true);
    assert.equal(compileOwnerRegex('\\p{Lu}{3}').test('abc ÉÀÔ'), true);
  });

  it('lookaround and backreferences are refused when the datanet is defined', () => {
    assert.throws(() => compileOwnerRegex('(?=a)b'), OwnerRegexError);
    assert.throws(() => parseDefinition({ name: 'qa', licence: 'MIT', rules: { forbiddenPatterns: ['(a)\\1'] } }), /forbiddenPatterns: \/\(a\)\\1\/ cannot be run in linear time/);
    assert.throws(() => parseDefinition({ name: 'qa', licence: 'MIT', recordSchema: { type: 'object', properties: { q: { type: 'string', pattern: '(?!x)y' } } } }), /recordSchema: not a valid JSON Schema/);
  });

  it("a record schema's pattern runs in RE2 too", () => {
    const def = parseDefinition({ name: 'qa', licence: 'MIT', recordSchema: { type: 'object', properties: { q: { type: 'string', pattern: '^(a+)+$' } }, patternProperties: { '^(x+)+$': { type: 'number' } } } });
    const check = recordChecks({ recordSchema: def.recordSchema!, rules: {} });
    assert.equal(check({ q: evil }, bytes({ q: evil }))?.reason, 'schema_mismatch');
    assert.equal(check({ q: 'aaa' }, bytes({ q: 'aaa' })), undefined);
    assert.equal(check({ q: 'aaa', [`${'x'.repeat(40)}y`]: 'not checked' }, bytes({})), undefined);
    assert.equal(check({ q: 'aaa', xxx: 'a string' }, bytes({}))?.reason, 'schema_mismatch');
  });

  it('rules stored before this check that RE2 cannot run refuse every record, saying why', () => {
    const check = recordChecks({ recordSchema: null, rules: { forbiddenPatterns: ['(?=spam)'] } });
    const r = check('hello', bytes('hello'));
    assert.equal(r?.reason, 'forbidden_pattern');
    assert.match(r!.detail, /cannot be checked/);
  });
});
