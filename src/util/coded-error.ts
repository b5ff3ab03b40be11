/**
 * The one base of the node's errors: `code` is machine-readable (the API answers with it, and maps
 * it to an HTTP status in one table, `api/error-statuses.ts`), the message is for people, `cause`
 * is what went wrong underneath and `details` any data a client can act on. Domain errors carry no
 * HTTP status: what a code means to HTTP is the API's business.
 *
 * @example
 * class FactoryError extends CodedError { override name = 'FactoryError'; }
 * throw new FactoryError('not_found', 'no such job');
 */
export class CodedError extends Error {
  override name = 'CodedError';
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}
