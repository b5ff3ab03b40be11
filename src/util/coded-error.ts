/**
 * Base of the domain modules' errors: `code` is machine-readable, the message is for people, and
 * `status` is the HTTP status the API answers with.
 *
 * @example
 * class FactoryError extends CodedError { override name = 'FactoryError'; }
 * throw new FactoryError('not_found', 'no such job', 404);
 */
export class CodedError extends Error {
  override name = 'CodedError';
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}
