// The JSON shape of a value the API sends: browser-safe (types only, no imports) so the web app
// can turn the node's stored shapes into what it receives.

/**
 * `T` as it arrives over the API: the reply serializer (src/api/server.ts, `toJson`) writes
 * bigints (wei, block numbers) as decimal strings; everything else is as stored (dates are already
 * ISO strings there). Recursive through objects and arrays.
 *
 * @example
 * const job = await api<Json<TrainingJob>>('GET', `/factory/jobs/${id}`); // job.sentFromBlock: string | null
 */
export type Json<T> = T extends bigint ? string : T extends object ? { [K in keyof T]: Json<T[K]> } : T;
