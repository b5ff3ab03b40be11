import type { Hex } from 'viem';

/** Base class of the data availability errors. */
export class DaError extends Error {
  override name = 'DaError';
}

/** A value given as an Alt-DA commitment is not one (empty, not hex, unknown type, wrong length). */
export class DaInvalidCommitmentError extends DaError {
  override name = 'DaInvalidCommitmentError';
  readonly value: string;
  constructor(value: string, why: string) {
    super(`not an Alt-DA commitment (${why}): ${value.slice(0, 80)}`);
    this.value = value;
  }
}

/** The backend holds no data for the commitment. */
export class DaNotFoundError extends DaError {
  override name = 'DaNotFoundError';
  readonly commitment: Hex;
  constructor(commitment: Hex, where: string) {
    super(`no data for commitment ${commitment} in ${where}`);
    this.commitment = commitment;
  }
}

/** Data does not match the commitment it was fetched or announced by. */
export class DaCommitmentMismatchError extends DaError {
  override name = 'DaCommitmentMismatchError';
  readonly expected: Hex;
  readonly actual: Hex;
  constructor(expected: Hex, actual: Hex, what = 'data') {
    super(`${what} commits to ${actual}, not to ${expected}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The backend cannot serve this kind of commitment (say, a generic commitment given to a keccak store). */
export class DaUnsupportedCommitmentError extends DaError {
  override name = 'DaUnsupportedCommitmentError';
  readonly commitment: Hex;
  constructor(commitment: Hex, backend: string) {
    super(`${backend} cannot serve commitment ${commitment.slice(0, 10)}…`);
    this.commitment = commitment;
  }
}

/** A DA server answered with an unexpected HTTP status (or could not be reached). */
export class DaServerError extends DaError {
  override name = 'DaServerError';
  readonly url: string;
  readonly status: number | null;
  constructor(url: string, status: number | null, detail: string) {
    super(`DA server ${url}: ${status === null ? 'unreachable' : `HTTP ${status}`}: ${detail}`);
    this.url = url;
    this.status = status;
  }
}

/** A batch's DA payload is malformed, or does not rebuild the batch's anchored root. */
export class DaPayloadError extends DaError {
  override name = 'DaPayloadError';
}

/** Data too large for the backend (L1 blobs: more blobs than one transaction may carry). */
export class DaTooLargeError extends DaError {
  override name = 'DaTooLargeError';
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, unit: string) {
    super(`${size} ${unit} is more than the ${limit} ${unit} one put may take`);
    this.size = size;
    this.limit = limit;
  }
}
