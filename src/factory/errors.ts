import { CodedError } from '../util/coded-error.ts';

/** A ModelFactory request that cannot be done, with a machine-readable code and an HTTP status. */
export class FactoryError extends CodedError {
  override name = 'FactoryError';
}
