import { DatanetError } from '../errors.ts';
import type { IntakeErrorCode } from './types.ts';

/**
 * An intake error thrown rather than reported as an item: `unsupported_format` from `parseUpload`,
 * and `file_too_large` from `limitBytes` (which `parseUpload` turns into a final item).
 *
 * @example
 * throw new IntakeError('unsupported_format', 'cannot tell the format of data.bin');
 */
export class IntakeError extends DatanetError {
  override name = 'IntakeError';
  declare readonly code: IntakeErrorCode;
  constructor(code: IntakeErrorCode, message: string) {
    super(code, message);
  }
}
