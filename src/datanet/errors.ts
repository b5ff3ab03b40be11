/** Base of the datanet module's errors; `code` is machine-readable, the message is for people. */
export class DatanetError extends Error {
  override name = 'DatanetError';
  readonly code: string;
  /** The HTTP status the API answers with. */
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export const notFound = (what: string) => new DatanetError('not_found', `${what} does not exist`, 404);
export const forbiddenFor = (who: string, what: string) => new DatanetError('forbidden', `${who} is not ${what}`, 403);
