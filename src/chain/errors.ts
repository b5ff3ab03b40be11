/** Base class of errors raised by the chain layer. */
export class ChainError extends Error {
  override name = 'ChainError';
}

/** The anvil binary could not be found or did not start. */
export class ChainStartError extends ChainError {
  override name = 'ChainStartError';
}

/** A JSON-RPC call returned an error object. */
export class RpcError extends ChainError {
  override name = 'RpcError';
  readonly code: number;
  readonly data: unknown;
  constructor(method: string, code: number, message: string, data?: unknown) {
    super(`${method}: ${message} (code ${code})`);
    this.code = code;
    this.data = data;
  }
}

/** Replaying the embedded chain's journal gave a different chain than the one recorded. */
export class JournalReplayError extends ChainError {
  override name = 'JournalReplayError';
}
