import { DatanetError } from './errors.ts';

/** Why a near-duplicate index could not be made or restored. */
export type NearDuplicateErrorCode =
  /** Options out of range (threshold, number of permutations, shingle size, banding). */
  | 'invalid_near_duplicate_options'
  /** Serialized bytes that are truncated, altered (checksum mismatch) or not an index at all. */
  | 'corrupt_near_duplicate_index'
  /** Serialized by another format version: rebuild the index from the contributions' texts. */
  | 'unsupported_near_duplicate_index';

/**
 * An error of the near-duplicate index. A corrupt or unsupported serialized index is not the
 * user's fault (status 500): the node rebuilds the index from the stored contributions.
 */
export class NearDuplicateError extends DatanetError {
  override name = 'NearDuplicateError';
  declare readonly code: NearDuplicateErrorCode;
  constructor(code: NearDuplicateErrorCode, message: string) {
    super(code, message);
  }
}
