import { getAddress, isAddress } from 'viem';
import { z } from 'zod';
import type { DatanetRules } from './datanet-types.ts';

// What a datanet owner submits, as a schema: browser-safe (zod and viem only) so the API's contract
// and the web app's form check the same fields the node does (definition.ts adds the checks that
// compile the record schema and the patterns).

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
