import { getAddress, isAddress, type Address, type Hex } from 'viem';
import { z } from 'zod';

// The pieces the API's schemas are built of. A request schema takes what a client may send (and
// normalises it: addresses checksummed, hashes lower-cased); a response schema describes the JSON
// the node sends (bigints as decimal strings: src/util/json-shape.ts `Json`).

/** The largest PostgreSQL `integer`: a number compared with an integer column must stay below it (or the query fails). */
export const PG_INTEGER_MAX = 2 ** 31 - 1;
/** The largest PostgreSQL `bigint`. */
export const PG_BIGINT_MAX = 2n ** 63n - 1n;

/** An address a client sends, in any case; read checksummed. */
export const addressInput = z.string().refine(isAddress, 'must be an address').transform((a) => getAddress(a)).meta({ description: 'an 0x address' });
/** 32 bytes of hex a client sends (a content hash, a contribution id); read lower-cased. */
export const hex32Input = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 32 bytes of hex').transform((s) => s.toLowerCase() as Hex);
/** A positive integer id (a path parameter or a query field, so coerced from text). */
export const idInput = z.coerce.number().int().positive();
/** How many items a page holds. */
export const limitInput = (max = 500, fallback = 50) => z.coerce.number().int().min(1).max(max).default(fallback);

const typed = <T extends string>(schema: z.ZodString): z.ZodType<T, T> => schema as unknown as z.ZodType<T, T>;
/** An address the node sends (checksummed). */
export const address = typed<Address>(z.string().regex(/^0x[0-9a-fA-F]{40}$/).meta({ description: 'an 0x address' }));
/** Hex bytes the node sends (hashes, signatures, transaction hashes). */
export const hex = typed<Hex>(z.string().regex(/^0x[0-9a-fA-F]*$/).meta({ description: '0x and hex digits' }));
/** An amount of OPEN in wei, or any uint256, as a decimal string. */
export const wei = z.string().regex(/^\d+$/).meta({ description: 'wei, a decimal string' });
/** A time, ISO 8601. */
export const time = z.string().meta({ format: 'date-time' });
/** A JSON object of any keys. */
export const jsonObject = z.record(z.string(), z.unknown());
/** A number the node sends that may be NaN or infinite, which JSON writes as null. */
export const finite = z.number().nullable();

/** The JSON error answer of every route but `/v1`: `{ error: code, message, issues?, details? }`. */
export const errorBody = z.object({
  error: z.string(),
  message: z.string(),
  issues: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  details: jsonObject.optional(),
});

/** True when a schema's output and `T` accept each other: a module's type and the API's schema of it agree (checked by the compiler). */
export type Agrees<S extends z.ZodType, T> = [z.output<S>] extends [T] ? ([T] extends [z.output<S>] ? true : false) : false;
/** Fails to compile unless its argument is `true`: `agree<Agrees<typeof datanet, Json<Datanet>>>()`. */
export function agree<_ extends true>(): void {}
