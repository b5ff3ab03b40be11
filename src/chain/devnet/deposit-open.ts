import { erc20Abi, parseEventLogs, type Address, type Hex, type TransactionReceipt } from 'viem';
import type { ChainClients } from '../clients.ts';
import { ChainError } from '../errors.ts';
import { opArtifact } from './op-artifacts.ts';

/** An L1 transaction of the bridge that did not succeed. */
export class BridgeTransactionError extends ChainError {
  override name = 'BridgeTransactionError';
}

/** What {@link depositOpen} sends. */
export interface OpenDeposit {
  /** Who gets the OPEN on L2. */
  to: Address;
  amount: bigint;
  /** L2 gas for the deposit's call (default 100 000: a transfer). */
  gasLimit?: bigint;
  /** Call data for `to` on L2 (default none). */
  data?: Hex;
}

/**
 * Deposits OPEN from L1 to L2 through the OptimismPortal: approves the portal for `amount`, then
 * `depositERC20Transaction(to, mint = amount, value = amount, gasLimit, false, data)`. On L2 the
 * deposit transaction mints `amount` native OPEN to the depositor and sends it to `to` (with `data`),
 * once the relay has applied it. Returns the L1 receipt of the deposit.
 *
 * @example
 * await depositOpen(l1Clients, l1Addresses, { to: me, amount: parseEther('5') });
 */
export async function depositOpen(clients: ChainClients, l1: { openToken: Address; optimismPortal: Address }, deposit: OpenDeposit): Promise<TransactionReceipt> {
  const { publicClient, walletClient } = clients;
  const wait = async (hash: Hex, what: string) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new BridgeTransactionError(`${what} failed on L1 (tx ${hash})`);
    return receipt;
  };
  await wait(await walletClient.writeContract({ address: l1.openToken, abi: erc20Abi, functionName: 'approve', args: [l1.optimismPortal, deposit.amount] }), 'approving the portal');
  const receipt = await wait(
    await walletClient.writeContract({
      address: l1.optimismPortal,
      abi: opArtifact('OptimismPortal').abi,
      functionName: 'depositERC20Transaction',
      args: [deposit.to, deposit.amount, deposit.amount, deposit.gasLimit ?? 100_000n, false, deposit.data ?? '0x'],
    }),
    'depositERC20Transaction',
  );
  if (parseEventLogs({ abi: opArtifact('OptimismPortal').abi, eventName: 'TransactionDeposited', logs: receipt.logs }).length !== 1) {
    throw new BridgeTransactionError(`deposit ${receipt.transactionHash} emitted no TransactionDeposited`);
  }
  return receipt;
}
