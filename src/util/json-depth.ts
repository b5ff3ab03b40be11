/**
 * How deeply JSON may nest arrays and objects (a request body, a JSONL record): deeper input would
 * overflow the stack of recursive code downstream (canonical JSON of records, serialisers).
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Whether JSON text nests arrays and objects deeper than `max`: a linear scan of the bytes that
 * skips strings, run before the text is parsed.
 *
 * @example
 * jsonDeeperThan(Buffer.from('[[1]]'), 1); // true
 */
export function jsonDeeperThan(raw: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === 0x5c) i++; // a backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
