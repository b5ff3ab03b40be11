import { type Abi, type Address, type Hex, type TransactionReceipt } from 'viem';
import { getWithdrawalHashStorageSlot } from 'viem/op-stack';
import type { ChainClients } from '../clients.ts';
import { ChainError } from '../errors.ts';
import { BridgeTransactionError } from './deposit-open.ts';
import { opArtifact } from './op-artifacts.ts';
import { outputAt, passerStorageProof } from './output-root.ts';
import type { WithdrawalMessage } from './withdraw-open.ts';

/** A withdrawal that cannot be proven yet, or whose output the L2 no longer has the state of. */
export class WithdrawalNotProvableError extends ChainError {
  override name = 'WithdrawalNotProvableError';
}

/** Where a withdrawal stands on L1. */
export type WithdrawalStatus = 'waiting-for-output' | 'ready-to-prove' | 'proven' | 'ready-to-finalize' | 'finalized';

type L1 = { optimismPortal: Address; l2OutputOracle: Address };

const portalAbi = () => opArtifact('OptimismPortal').abi as Abi;
const oracleAbi = () => opArtifact('L2OutputOracle').abi as Abi;
const txOf = (w: WithdrawalMessage) => ({ nonce: w.nonce, sender: w.sender, target: w.target, value: w.value, gasLimit: w.gasLimit, data: w.data });

/**
 * Where `withdrawal` (initiated in L2 block `l2BlockNumber`) stands: finalised, proven (and whether
 * its finalisation period has passed by `now`, seconds), or not yet proven (and whether an output
 * root covers its block).
 *
 * @example
 * if ((await withdrawalStatus(l1Clients, l1, w, block)) === 'ready-to-prove') await proveWithdrawal(…);
 */
export async function withdrawalStatus(clients: ChainClients, l1: L1, withdrawal: WithdrawalMessage, l2BlockNumber: bigint, now = BigInt(Math.floor(Date.now() / 1000))): Promise<WithdrawalStatus> {
  const read = <T>(address: Address, abi: Abi, functionName: string, args: unknown[] = []) => clients.publicClient.readContract({ address, abi, functionName, args }) as Promise<T>;
  if (await read<boolean>(l1.optimismPortal, portalAbi(), 'finalizedWithdrawals', [withdrawal.withdrawalHash])) return 'finalized';
  const [, timestamp, index] = await read<[Hex, bigint, bigint]>(l1.optimismPortal, portalAbi(), 'provenWithdrawals', [withdrawal.withdrawalHash]);
  if (timestamp !== 0n) {
    const period = await read<bigint>(l1.l2OutputOracle, oracleAbi(), 'FINALIZATION_PERIOD_SECONDS');
    const output = await read<{ timestamp: bigint }>(l1.l2OutputOracle, oracleAbi(), 'getL2Output', [index]);
    return now > timestamp + period && now > output.timestamp + period ? 'ready-to-finalize' : 'proven';
  }
  return (await read<bigint>(l1.l2OutputOracle, oracleAbi(), 'latestBlockNumber')) >= l2BlockNumber ? 'ready-to-prove' : 'waiting-for-output';
}

/**
 * Proves `withdrawal` (initiated in L2 block `l2BlockNumber`) on L1: against the latest output root
 * (which must cover its block), with that output's preimage and the storage proof of
 * `sentMessages[withdrawalHash]` in L2ToL1MessagePasser (`eth_getProof` at the output's block), via
 * `OptimismPortal.proveWithdrawalTransaction`.
 *
 * @example
 * await proveWithdrawal(l1Clients, l1Addresses, l2Url, withdrawal, receipt.blockNumber);
 */
export async function proveWithdrawal(clients: ChainClients, l1: L1, l2Url: string, withdrawal: WithdrawalMessage, l2BlockNumber: bigint): Promise<TransactionReceipt> {
  const { publicClient, walletClient } = clients;
  const latest = (await publicClient.readContract({ address: l1.l2OutputOracle, abi: oracleAbi(), functionName: 'latestBlockNumber' })) as bigint;
  if (latest < l2BlockNumber) throw new WithdrawalNotProvableError(`no output root covers L2 block ${l2BlockNumber} yet (the latest is for block ${latest})`);
  // the latest output: it holds every withdrawal before it, and its L2 state is the likeliest to be
  // at hand (an L2 keeps recent states only)
  const index = (await publicClient.readContract({ address: l1.l2OutputOracle, abi: oracleAbi(), functionName: 'latestOutputIndex' })) as bigint;
  const proposal = (await publicClient.readContract({ address: l1.l2OutputOracle, abi: oracleAbi(), functionName: 'getL2Output', args: [index] })) as { outputRoot: Hex; l2BlockNumber: bigint };
  const output = await outputAt(l2Url, proposal.l2BlockNumber).catch((err: unknown) => {
    throw new WithdrawalNotProvableError(`the L2 no longer has the state of block ${proposal.l2BlockNumber} (output ${index}): prove against a later output`, { cause: err });
  });
  if (output.outputRoot !== proposal.outputRoot) {
    throw new WithdrawalNotProvableError(`the L2's block ${proposal.l2BlockNumber} gives output root ${output.outputRoot}, but ${proposal.outputRoot} was proposed (output ${index})`);
  }
  const slot = getWithdrawalHashStorageSlot({ withdrawalHash: withdrawal.withdrawalHash });
  const storage = await passerStorageProof(l2Url, proposal.l2BlockNumber, slot);
  if (BigInt(storage.value) !== 1n) throw new WithdrawalNotProvableError(`withdrawal ${withdrawal.withdrawalHash} is not in L2ToL1MessagePasser at L2 block ${proposal.l2BlockNumber}`);
  const hash = await walletClient.writeContract({
    address: l1.optimismPortal, abi: portalAbi(), functionName: 'proveWithdrawalTransaction',
    args: [txOf(withdrawal), index, output.proof, storage.proof],
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new BridgeTransactionError(`proveWithdrawalTransaction failed (tx ${hash})`);
  return receipt;
}

/**
 * Finalises a proven `withdrawal` on L1 once its finalisation period has passed:
 * `OptimismPortal.finalizeWithdrawalTransaction`, which pays `value` OPEN (the ERC-20) from the
 * portal to the target.
 *
 * @example
 * await finalizeWithdrawal(l1Clients, l1Addresses, withdrawal);
 */
export async function finalizeWithdrawal(clients: ChainClients, l1: L1, withdrawal: WithdrawalMessage): Promise<TransactionReceipt> {
  const hash = await clients.walletClient.writeContract({ address: l1.optimismPortal, abi: portalAbi(), functionName: 'finalizeWithdrawalTransaction', args: [txOf(withdrawal)] });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new BridgeTransactionError(`finalizeWithdrawalTransaction failed (tx ${hash})`);
  return receipt;
}
