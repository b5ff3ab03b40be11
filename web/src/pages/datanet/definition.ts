import { getAddress, isAddress, parseEther } from 'viem';
import type { DatanetRules } from './types.ts';

// The create-datanet form: its draft, and the checks of the route's zod schema
// (src/datanet/definition.ts definitionSchema) made before anything is sent.

/** What the form holds, as typed. */
export interface DefinitionDraft {
  name: string;
  description: string;
  licence: string;
  curation: 'auto' | 'manual';
  /** OPEN, decimal (e.g. "10" or "0.5"). */
  stake: string;
  threshold: string;
  minChars: string;
  maxChars: string;
  maxBytes: string;
  /** One regular expression per line. */
  forbidden: string;
  /** One address per line. */
  curators: string;
  /** A JSON Schema (2020-12), or empty for free-text records. */
  recordSchema: string;
}

export const emptyDraft: DefinitionDraft = {
  name: '', description: '', licence: '', curation: 'auto', stake: '0', threshold: '0.8',
  minChars: '', maxChars: '', maxBytes: '', forbidden: '', curators: '', recordSchema: '',
};

/** The body of `POST /datanets`. */
export interface DefinitionBody {
  name: string;
  description: string;
  licence: string;
  contributionStake: string;
  curators: string[];
  curation: 'auto' | 'manual';
  nearDuplicateThreshold: number;
  rules: DatanetRules;
  recordSchema?: Record<string, unknown>;
}

export type DraftErrors = Partial<Record<keyof DefinitionDraft, string>>;

const NAME = /^[a-z0-9][a-z0-9-]{1,62}$/;
const MAX_RECORD_BYTES = 1024 * 1024;

const lines = (text: string) => text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);

function optionalInt(text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined | string {
  const t = text.trim();
  if (t === '') return undefined;
  if (!/^\d+$/.test(t)) return 'a whole number';
  const n = Number(t);
  if (n < min) return `at least ${min}`;
  if (n > max) return `at most ${max.toLocaleString('en')}`;
  return n;
}

/**
 * Checks a draft against the node's rules and builds the request body; returns a message per bad
 * field instead when there is any.
 *
 * @example
 * const { body, errors } = checkDefinition({ ...emptyDraft, name: 'medical-qa', licence: 'CC-BY-4.0' });
 */
export function checkDefinition(d: DefinitionDraft): { body: DefinitionBody; errors: null } | { body: null; errors: DraftErrors } {
  const errors: DraftErrors = {};
  const name = d.name.trim();
  if (!NAME.test(name)) errors.name = 'lowercase letters, digits and dashes, 2–63 characters, starting with a letter or digit';
  if (d.description.length > 10_000) errors.description = 'at most 10,000 characters';
  const licence = d.licence.trim();
  if (licence.length === 0) errors.licence = 'say under which licence the data is shared (e.g. CC-BY-4.0)';
  else if (licence.length > 200) errors.licence = 'at most 200 characters';

  let contributionStake = '0';
  const stake = d.stake.trim() || '0';
  if (!/^\d+(\.\d{1,18})?$/.test(stake)) errors.stake = 'an amount of OPEN, e.g. 10 or 0.5 (up to 18 decimals)';
  else {
    contributionStake = parseEther(stake).toString();
    if (contributionStake.length > 30) errors.stake = 'too large';
  }

  const threshold = Number(d.threshold.trim());
  if (d.threshold.trim() === '' || !Number.isFinite(threshold) || threshold <= 0 || threshold > 1) errors.threshold = 'a similarity above 0 and at most 1, e.g. 0.8';

  const rules: DatanetRules = {};
  const minChars = optionalInt(d.minChars, 0);
  const maxChars = optionalInt(d.maxChars, 1);
  const maxBytes = optionalInt(d.maxBytes, 1, MAX_RECORD_BYTES);
  if (typeof minChars === 'string') errors.minChars = minChars;
  else if (minChars !== undefined) rules.minChars = minChars;
  if (typeof maxChars === 'string') errors.maxChars = maxChars;
  else if (maxChars !== undefined) rules.maxChars = maxChars;
  if (typeof maxBytes === 'string') errors.maxBytes = maxBytes;
  else if (maxBytes !== undefined) rules.maxBytes = maxBytes;
  if (rules.minChars !== undefined && rules.maxChars !== undefined && rules.minChars > rules.maxChars) errors.maxChars = 'at least the fewest characters';

  const patterns = lines(d.forbidden);
  if (patterns.length > 100) errors.forbidden = 'at most 100 patterns';
  for (const p of patterns) {
    if (p.length > 500) {
      errors.forbidden = `"${p.slice(0, 30)}…" is longer than 500 characters`;
      break;
    }
    try {
      new RegExp(p, 'iu');
    } catch (err) {
      errors.forbidden = `"${p}" is not a regular expression: ${(err as Error).message}`;
      break;
    }
  }
  if (patterns.length > 0) rules.forbiddenPatterns = patterns;

  const curators = lines(d.curators);
  const bad = curators.find((c) => !isAddress(c));
  if (bad) errors.curators = `${bad} is not an address (0x + 40 hex digits)`;
  else if (curators.length > 50) errors.curators = 'at most 50 curators';

  let recordSchema: Record<string, unknown> | undefined;
  if (d.recordSchema.trim()) {
    try {
      const parsed: unknown = JSON.parse(d.recordSchema);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) errors.recordSchema = 'a JSON Schema is a JSON object, e.g. {"type": "object", "required": ["prompt"]}';
      else recordSchema = parsed as Record<string, unknown>;
    } catch (err) {
      errors.recordSchema = `not JSON: ${(err as Error).message}`;
    }
  }

  if (Object.keys(errors).length > 0) return { body: null, errors };
  return {
    errors: null,
    body: {
      name, description: d.description, licence, contributionStake,
      curators: [...new Set(curators.map((c) => getAddress(c)))],
      curation: d.curation, nearDuplicateThreshold: threshold, rules,
      ...(recordSchema ? { recordSchema } : {}),
    },
  };
}
