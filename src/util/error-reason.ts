/**
 * An error's message, with its cause's where the message alone says too little (fetch says only
 * "fetch failed" for a refused connection, a redirect, a TLS failure or a reset).
 *
 * @example
 * errorReason(err) // 'fetch failed (connect ECONNREFUSED 127.0.0.1:8080)'
 */
export function errorReason(err: unknown): string {
  const { message, cause } = err as Error & { cause?: { message?: string; code?: string } };
  const why = cause?.message || cause?.code;
  return why ? `${message} (${why})` : message;
}
