import { Ajv2020 } from 'ajv/dist/2020.js';
import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import type { DatanetRules } from './datanet-types.ts';
import { DatanetError } from './errors.ts';
import { compileOwnerRegex, ownerRegexEngine } from './owner-regex.ts';

// the owner's `pattern` keywords run in RE2 (linear time), not V8's backtracking engine
const ajv = new Ajv2020({ allErrors: true, strict: false, code: { regExp: ownerRegexEngine } });

const address = z.string().refine(isAddress, 'must be an address').transform((a) => getAddress(a));

/**
 * Parses the rules a datanet owner sets ({@link DatanetRules}, whose fields say what each rule means).
 * Its keys and its output are checked against that shared type, so the two cannot drift apart.
 */
export const ruleSchema = z
  .object({
    minChars: z.number().int().min(0).optional(),
    maxChars: z.number().int().positive().optional(),
    maxBytes: z.number().int().positive().max(1024 * 1024).optional(),
    forbiddenPatterns: z.array(z.string().max(500)).max(100).optional(),
  } satisfies Record<keyof DatanetRules, z.ZodType>)
  .strict() satisfies z.ZodType<DatanetRules>;

/** What a datanet owner submits to create a datanet. */
export const definitionSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{1,62}$/, 'lowercase letters, digits and dashes, 2-63 characters, starting with a letter or digit'),
    description: z.string().max(10_000).default(''),
    /** A JSON Schema (2020-12) every record must satisfy; omit for plain-text records. */
    recordSchema: z.record(z.string(), z.unknown()).optional(),
    licence: z.string().min(1).max(200),
    /** OPEN (wei, decimal string) a contributor must bond; slashed when a record is rejected as spam. */
    contributionStake: z.string().regex(/^\d{1,30}$/, { message: 'a whole number of wei', abort: true }).refine((x) => BigInt(x) < 2n ** 96n, 'at most 2^96 - 1 wei (the registry keeps it in a uint96)').default('0'),
    curators: z.array(address).max(50).default([]),
    /** 'auto': records that pass validation are accepted; 'manual': they wait for a curator. */
    curation: z.enum(['auto', 'manual']).default('auto'),
    /** Estimated Jaccard similarity at or above which a record is a near-duplicate. */
    nearDuplicateThreshold: z.number().gt(0).max(1).default(0.8),
    rules: ruleSchema.default({}),
  })
  .strict();

export type DatanetDefinition = z.infer<typeof definitionSchema>;
export type DatanetDefinitionInput = z.input<typeof definitionSchema>;

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

