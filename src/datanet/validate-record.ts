import type { Hex } from 'viem';
import type { ContributionRecord, Datanet, RejectionReason } from './datanet-types.ts';
import { compileRecordSchema } from './definition.ts';
import { compileOwnerRegex, type OwnerRegex } from './owner-regex.ts';

/** A rejected record: the code, a sentence for people, and the contribution it duplicates. */
export interface Rejection {
  reason: RejectionReason;
  detail: string;
  duplicateOf?: Hex;
}

/** Default most bytes of a record's canonical form. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024;

/**
 * The text of a record that size rules and near-duplicate detection look at: the record itself for
 * text, the string values (in key order, nested ones too) for objects.
 */
export function recordText(record: ContributionRecord): string {
  if (typeof record === 'string') return record;
  const parts: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') parts.push(v);
    else if (typeof v === 'number' || typeof v === 'boolean') parts.push(String(v));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const k of Object.keys(v).sort()) walk((v as Record<string, unknown>)[k]);
  };
  walk(record);
  return parts.join('\n');
}

/**
 * Builds the per-record checks of a datanet that need nothing but the record: emptiness, size,
 * the record schema (when there is one, records must be objects that match it; without one, text
 * and objects are both taken), and the owner's rules
 * (characters, forbidden patterns). Duplicates and stake are checked against the store by
 * {@link ingestRecords}.
 *
 * @example
 * const check = recordChecks(datanet);
 * const rejection = check(record, canonicalBytes(record)); // undefined when it passes
 */
export function recordChecks(datanet: Pick<Datanet, 'recordSchema' | 'rules'>): (record: ContributionRecord, bytes: Uint8Array) => Rejection | undefined {
  // rules stored before patterns had to run in linear time may not compile: then every record is
  // refused, saying why, rather than checked by a backtracking engine or not at all
  let schemaError: ((record: unknown) => string | undefined) | undefined;
  let forbidden: OwnerRegex[] = [];
  let broken: Rejection | undefined;
  try {
    schemaError = datanet.recordSchema ? compileRecordSchema(datanet.recordSchema) : undefined;
  } catch (err) {
    broken = { reason: 'schema_mismatch', detail: `the datanet's record schema cannot be checked: ${(err as Error).message}` };
  }
  try {
    forbidden = (datanet.rules.forbiddenPatterns ?? []).map((p) => compileOwnerRegex(p, { caseInsensitive: true }));
  } catch (err) {
    broken ??= { reason: 'forbidden_pattern', detail: `the datanet's forbidden patterns cannot be checked: ${(err as Error).message}` };
  }
  const maxBytes = datanet.rules.maxBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const { minChars, maxChars } = datanet.rules;
  return (record, bytes) => {
    if (broken) return broken;
    const text = recordText(record);
    if (text.trim().length === 0) return { reason: 'empty', detail: 'the record has no text' };
    if (bytes.length > maxBytes) return { reason: 'too_large', detail: `${bytes.length} bytes (at most ${maxBytes})` };
    if (schemaError) {
      if (typeof record === 'string') return { reason: 'not_an_object', detail: 'this datanet takes JSON objects that match its schema' };
      const problem = schemaError(record);
      if (problem) return { reason: 'schema_mismatch', detail: problem };
    }
    const chars = [...text].length;
    if (minChars !== undefined && chars < minChars) return { reason: 'too_short', detail: `${chars} characters (at least ${minChars})` };
    if (maxChars !== undefined && chars > maxChars) return { reason: 'too_long', detail: `${chars} characters (at most ${maxChars})` };
    const hit = forbidden.find((re) => re.test(text));
    if (hit) return { reason: 'forbidden_pattern', detail: `matches the forbidden pattern /${hit.source}/` };
    return undefined;
  };
}
