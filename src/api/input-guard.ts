import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
export { jsonDeeperThan, MAX_JSON_DEPTH } from '../util/json-depth.ts';

type PathKey = string | number;

/** An unpaired UTF-16 surrogate (JSON's `\ud800` alone): not a Unicode character at all. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored or hashed, or undefined if it can. */
function textProblem(s: string): string | undefined {
  if (s.includes('\0')) return 'must not contain NUL characters (U+0000)';
  if (LONE_SURROGATE.test(s)) return 'must be valid Unicode (no unpaired surrogate such as \\ud800)';
  return undefined;
}

/**
 * The first string (or object key) in `value` that cannot be stored or hashed — one holding a NUL
 * character or an unpaired surrogate — as its path and what is wrong, or undefined. Walks without
 * recursion and without copying paths (each entry points at its parent), so a deeply nested body
 * takes linear time and cannot overflow the stack.
 */
export function badTextAt(value: unknown): { path: PathKey[]; message: string } | undefined {
  interface Entry { value: unknown; key?: PathKey; parent?: Entry }
  const pathOf = (e: Entry | undefined, last?: PathKey): PathKey[] => {
    const path: PathKey[] = last === undefined ? [] : [last];
    for (let at = e; at?.key !== undefined; at = at.parent) path.push(at.key);
    return path.reverse();
  };
  const stack: Entry[] = [{ value }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const v = entry.value;
    if (typeof v === 'string') {
      const message = textProblem(v);
      if (message) return { path: pathOf(entry), message };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: entry });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [k] of entries) {
        const message = textProblem(k);
        if (message) return { path: pathOf(entry, k), message };
      }
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], key: entries[i]![0], parent: entry });
    }
  }
  return undefined;
}

/**
 * Refuses a request whose path parameters, query or JSON body hold text that cannot be stored or
 * hashed with a 400 naming the field: a NUL character (U+0000, `%00` or `\u0000`: PostgreSQL's text
 * and jsonb cannot hold one) or an unpaired surrogate (`\ud800`: not Unicode, so neither UTF-8 nor
 * canonical JSON — a record's content hash — can hold it). Such a value would otherwise fail deep
 * inside as a 500. Runs before every route's handler (routes added later included).
 *
 * @example
 * refuseBadText(app); // GET /models/a%00b → 400 { error: 'bad_request', message: 'name: must not contain NUL characters (U+0000)' }
 */
export function refuseBadText(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const value of [request.params, request.query, request.body]) {
      const bad = badTextAt(value);
      if (bad) throw new ZodError([{ code: 'custom', path: bad.path, message: bad.message, input: undefined }]);
    }
  });
}
