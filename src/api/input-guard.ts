import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
export { jsonDeeperThan, MAX_JSON_DEPTH } from '../util/json-depth.ts';

type PathKey = string | number;

/** The largest PostgreSQL `integer`: a number compared with an integer column must stay below it (or the query fails). */
export const PG_INTEGER_MAX = 2 ** 31 - 1;
/** The largest PostgreSQL `bigint`. */
export const PG_BIGINT_MAX = 2n ** 63n - 1n;

/**
 * The path of the first string (or object key) in `value` that holds a NUL character, or undefined.
 * Walks without recursion and without copying paths (each entry points at its parent), so a deeply
 * nested body takes linear time and cannot overflow the stack.
 */
export function nulCharacterAt(value: unknown): PathKey[] | undefined {
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
      if (v.includes('\0')) return pathOf(entry);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: entry });
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (const [k] of entries) if (k.includes('\0')) return pathOf(entry, k);
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], key: entries[i]![0], parent: entry });
    }
  }
  return undefined;
}

/**
 * Refuses a request whose path parameters, query or JSON body hold a NUL character (U+0000, `%00`
 * or `\u0000`) with a 400 naming the field: PostgreSQL's text and jsonb cannot hold one, so such a
 * value would otherwise reach a query and fail there as a 500. Runs before every route's handler
 * (routes added later included).
 *
 * @example
 * refuseNulCharacters(app); // GET /models/a%00b → 400 { error: 'bad_request', message: 'name: must not contain NUL characters (U+0000)' }
 */
export function refuseNulCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const value of [request.params, request.query, request.body]) {
      const path = nulCharacterAt(value);
      if (path) throw new ZodError([{ code: 'custom', path, message: 'must not contain NUL characters (U+0000)', input: undefined }]);
    }
  });
}
