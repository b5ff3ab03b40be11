import { type Address, type Hex, type TransactionReceipt } from 'viem';
import { getWithdrawals } from 'viem/op-stack';
import type { ChainClients } from '../clients.ts';
import { L2_TO_L1_MESSAGE_PASSER_ADDRESS } from '../profiles.ts';
import { BridgeTransactionError } from './deposit-open.ts';
import { opArtifact } from './op-artifacts.ts';

/** A withdrawal from L2 to L1 as L2ToL1MessagePasser recorded it (its `MessagePassed` event). */
export interface WithdrawalMessage {
  nonce: bigint;
  sender: Address;
  target: Address;
  value: bigint;
  gasLimit: bigint;
  data: Hex;
  withdrawalHash: Hex;
}

/**
 * Starts a withdrawal of `amount` native OPEN from L2 to `target` on L1:
 * `L2ToL1MessagePasser.initiateWithdrawal{value: amount}(target, gasLimit, data)`. The OPEN leaves
 * the sender at once; on L1 the portal pays it out in OPEN (the ERC-20) once the withdrawal is
 * proven against an output root and finalised. Returns the L2 receipt and the withdrawal.
 *
 * @example
 * const { withdrawal } = await withdrawOpen(l2Clients, { target: me, amount: parseEther('1') });
 */
export async function withdrawOpen(
  clients: ChainClients,
  w: { target: Address; amount: bigint; gasLimit?: bigint; data?: Hex },
): Promise<{ receipt: TransactionReceipt; withdrawal: WithdrawalMessage }> {
  const hash = await clients.walletClient.writeContract({
    address: L2_TO_L1_MESSAGE_PASSER_ADDRESS,
    abi: opArtifact('L2ToL1MessagePasser').abi,
    functionName: 'initiateWithdrawal',
    args: [w.target, w.gasLimit ?? 100_000n, w.data ?? '0x'],
    value: w.amount,
  });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  const [withdrawal] = getWithdrawals({ logs: receipt.logs });
  if (receipt.status !== 'success' || !withdrawal) throw new BridgeTransactionError(`initiateWithdrawal failed on L2 (tx ${hash})`);
  return { receipt, withdrawal };
}

/**
 * Burns the OPEN that withdrawals left in L2ToL1MessagePasser (`burn()`, which anyone may call): the
 * L2's native supply then no longer counts what the portal will pay out on L1. Returns the amount
 * burnt (0 without a transaction when there is none).
 *
 * @example
 * await burnWithdrawnOpen(l2Clients);
 */
export async function burnWithdrawnOpen(clients: ChainClients): Promise<bigint> {
  const balance = await clients.publicClient.getBalance({ address: L2_TO_L1_MESSAGE_PASSER_ADDRESS });
  if (balance === 0n) return 0n;
  const hash = await clients.walletClient.writeContract({ address: L2_TO_L1_MESSAGE_PASSER_ADDRESS, abi: opArtifact('L2ToL1MessagePasser').abi, functionName: 'burn', args: [] });
  const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success') throw new BridgeTransactionError(`burn() failed on L2 (tx ${hash})`);
  return balance;
}
