/**
 * Turns the values hyparquet reads into JSON values, so that a Parquet row is a record like any
 * other (canonical JSON, hashing, schema checks):
 * - INT64 (BigInt): a number when it is a safe integer (|n| ≤ 2^53 − 1), else its decimal string;
 * - NaN and ±Infinity: null (JSON has no such numbers);
 * - dates and timestamps: ISO 8601 strings (DATE as `YYYY-MM-DD`, set by the reader's parsers);
 * - binary values that are not text (Uint8Array): base64 strings;
 * - lists: arrays; structs, maps and variants: objects (map keys as strings); missing values: null.
 */

/**
 * The JSON value of one value read from Parquet.
 *
 * @example
 * jsonValueOf(123n)                 // 123
 * jsonValueOf(2n ** 63n - 1n)       // '9223372036854775807'
 * jsonValueOf(new Uint8Array([1]))  // 'AQ=='
 */
export function jsonValueOf(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
    case 'undefined':
      return null;
    case 'object': {
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (value instanceof Uint8Array) return base64Of(value);
      if (Array.isArray(value) || ArrayBuffer.isView(value)) return Array.from(value as ArrayLike<unknown>, jsonValueOf);
      if (value instanceof Map) return Object.fromEntries(Array.from(value, ([k, v]) => [String(k), jsonValueOf(v)]));
      return jsonObjectOf(value as Record<string, unknown>);
    }
    default:
      return String(value);
  }
}

/**
 * The JSON object of one Parquet row (or struct).
 *
 * @example
 * jsonObjectOf({ id: 1n, at: new Date(0) }) // { id: 1, at: '1970-01-01T00:00:00.000Z' }
 */
export function jsonObjectOf(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(row)) {
    Object.defineProperty(out, key, { value: jsonValueOf(row[key]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Standard base64 of bytes (btoa: the same in the node and in a browser). */
function base64Of(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
