import { keccak256, type Address, type Hex } from 'viem';
import { getSourceHash, opaqueDataToDepositData, serializeTransaction } from 'viem/op-stack';
import { ChainError } from '../errors.ts';

/** A `TransactionDeposited` log whose version this relay cannot derive a transaction from. */
export class UnsupportedDepositVersionError extends ChainError {
  override name = 'UnsupportedDepositVersionError';
}

/** One `TransactionDeposited` event of the OptimismPortal, with where it was emitted. */
export interface DepositLog {
  /** The depositor as the portal recorded it (aliased when a contract deposited). */
  from: Address;
  to: Address;
  version: bigint;
  opaqueData: Hex;
  blockHash: Hex;
  blockNumber: bigint;
  logIndex: number;
}

/** The L2 deposit transaction (EIP-2718 type 0x7e) that an L1 deposit becomes. */
export interface DepositTransaction {
  sourceHash: Hex;
  from: Address;
  /** undefined for a contract creation. */
  to: Address | undefined;
  /** Native OPEN created on L2 for `from` (what the portal took in OPEN on L1). */
  mint: bigint;
  value: bigint;
  gas: bigint;
  data: Hex;
  /** The signed-less raw transaction, as `eth_sendRawTransaction` takes it. */
  raw: Hex;
  /** Its L2 transaction hash: keccak256 of `raw`. */
  hash: Hex;
}

/**
 * Derives the deposit transaction of a `TransactionDeposited` log as the OP Stack's rollup node does
 * (deposit version 0): `opaqueData` is `abi.encodePacked(mint, value, gasLimit, isCreation, data)`;
 * the source hash is `keccak256(bytes32(0), keccak256(l1BlockHash, bytes32(logIndex)))` (the user
 * deposit domain); `isSystemTx` is false.
 *
 * @example
 * const tx = depositTransactionOf(log);
 * await callJsonRpc(l2Url, 'eth_sendRawTransaction', [tx.raw]);
 */
export function depositTransactionOf(log: DepositLog): DepositTransaction {
  if (log.version !== 0n) throw new UnsupportedDepositVersionError(`deposit version ${log.version} (log ${log.logIndex} of L1 block ${log.blockNumber}): only version 0 is known`);
  const { mint, value, gas, isCreation, data } = opaqueDataToDepositData(log.opaqueData);
  const sourceHash = getSourceHash({ domain: 'userDeposit', l1BlockHash: log.blockHash, l1LogIndex: log.logIndex });
  const to = isCreation ? undefined : log.to;
  const raw = serializeTransaction({ type: 'deposit', sourceHash, from: log.from, to, mint, value, gas, data, isSystemTx: false });
  return { sourceHash, from: log.from, to, mint, value, gas, data, raw, hash: keccak256(raw) };
}
