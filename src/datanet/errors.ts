import { CodedError } from '../util/coded-error.ts';

/** Base of the datanet module's errors; `code` is machine-readable, the message is for people. */
export class DatanetError extends CodedError {
  override name = 'DatanetError';
}

export const notFound = (what: string) => new DatanetError('not_found', `${what} does not exist`);
export const forbiddenFor = (who: string, what: string) => new DatanetError('forbidden', `${who} is not ${what}`);
