import { Ajv2020 } from 'ajv/dist/2020.js';
import { definitionSchema, type DatanetDefinition } from './definition-schema.ts';
import { DatanetError } from './errors.ts';
import { compileOwnerRegex, ownerRegexEngine } from './owner-regex.ts';

// the owner's `pattern` keywords run in RE2 (linear time), not V8's backtracking engine
const ajv = new Ajv2020({ allErrors: true, strict: false, code: { regExp: ownerRegexEngine } });


export { definitionSchema, ruleSchema, type DatanetDefinition, type DatanetDefinitionInput } from './definition-schema.ts';

/**
 * Validates a datanet definition: the fields, the record schema (it must compile as JSON Schema
 * 2020-12) and the forbidden patterns (they, and the schema's patterns, must compile in the
 * linear-time engine of {@link compileOwnerRegex}). Throws a
 * {@link DatanetError} naming the bad field.
 *
 * @example
 * const def = parseDefinition({ name: 'medical-qa', licence: 'CC-BY-4.0', recordSchema: { type: 'object', required: ['q', 'a'] } });
 */
export function parseDefinition(input: unknown): DatanetDefinition {
  const parsed = definitionSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DatanetError('invalid_definition', `${issue.path.join('.') || 'definition'}: ${issue.message}`);
  }
  const def = parsed.data;
  if (def.recordSchema) {
    try {
      ajv.compile(def.recordSchema);
    } catch (err) {
      throw new DatanetError('invalid_definition', `recordSchema: not a valid JSON Schema: ${(err as Error).message}`);
    }
  }
  for (const p of def.rules.forbiddenPatterns ?? []) {
    try {
      compileOwnerRegex(p, { caseInsensitive: true });
    } catch (err) {
      throw new DatanetError('invalid_definition', `rules.forbiddenPatterns: ${(err as Error).message}`);
    }
  }
  return def;
}

/** Compiles a record schema to a validator returning the first problem, or undefined. */
export function compileRecordSchema(schema: Record<string, unknown>): (record: unknown) => string | undefined {
  const validate = ajv.compile(schema);
  return (record) => {
    if (validate(record)) return undefined;
    const e = validate.errors?.[0];
    return e ? `${e.instancePath || 'record'} ${e.message ?? 'is invalid'}` : 'record is invalid';
  };
}

