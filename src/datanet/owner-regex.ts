import { RE2JS } from 're2js';
import type { RegExpEngine } from 'ajv/dist/types/index.js';

/**
 * A regular expression a datanet owner wrote (a forbidden pattern, a JSON Schema `pattern` or
 * `patternProperties` key), run by RE2's linear-time engine (re2js, decision 0018: pure JavaScript, no native build): matching time
 * grows with the text, never exponentially, so no pattern can stall the node's event loop (and
 * the embedded chain's RPC with it). Measured: V8's backtracking engine takes 80 ms on `^(a+)+$`
 * against 24 a's and a b, doubling with each further a (about an hour and a half at 40); RE2
 * answers 40 in 0.8 ms and 100,000 in 26 ms. Lookaround and backreferences are what RE2
 * leaves out; a pattern using them is refused with {@link OwnerRegexError}.
 *
 * @example
 * compileOwnerRegex('casino|lottery', { caseInsensitive: true }).test('Win the LOTTERY') // true
 */
export function compileOwnerRegex(pattern: string, options: { caseInsensitive?: boolean } = {}): OwnerRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, options.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (err) {
    throw new OwnerRegexError(pattern, (err as Error).message);
  }
  // toString names the pattern: Ajv keys its compiled patterns by it
  return { source: pattern, test: (text) => re.matcher(text).find(), toString: () => `/${pattern}/${options.caseInsensitive ? 'i' : ''}` };
}

/** A compiled owner pattern: `test` searches the text, as RegExp.prototype.test does. */
export interface OwnerRegex {
  source: string;
  test(text: string): boolean;
  toString(): string;
}

/** A pattern the linear-time engine cannot run (a syntax error, lookaround, a backreference). */
export class OwnerRegexError extends Error {
  override readonly name = 'OwnerRegexError';
  readonly pattern: string;
  constructor(pattern: string, reason: string) {
    super(`/${pattern}/ cannot be run in linear time: ${reason} (lookaround and backreferences are not supported)`);
    this.pattern = pattern;
  }
}

/** The same engine for Ajv's `pattern` keywords (its `code.regExp` option). */
export const ownerRegexEngine: RegExpEngine = Object.assign((pattern: string) => compileOwnerRegex(pattern), { code: 'ownerRegex' });
