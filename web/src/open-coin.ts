import { getContract, type Address, type PublicClient } from 'viem';
import { openTokenAbi } from '../../src/chain/generated/index.ts';
import { isNativeOpen, openBalanceOf } from '../../src/chain/open-payment.ts';
import { sendTx, type AccountState, type NodeStatus } from './account.tsx';

// OPEN in the browser, in either of its forms: the chain's native coin (OpenLedger's L2: the node's
// contracts hold it as WOPEN and take it sent with a call) or an ERC-20 (approve, then call).

/** Whether OPEN is the node's chain's native coin (it also pays the gas there). */
export function nativeOpen(status: NodeStatus): boolean {
  return isNativeOpen({ openToken: { address: status.contracts.openToken } });
}

/** The OPEN `account` can pay with: its native balance, or its token balance ({@link openBalanceOf}). */
export function readOpenBalance(publicClient: PublicClient, status: NodeStatus, account: Address): Promise<bigint> {
  const openToken = getContract({ address: status.contracts.openToken, abi: openTokenAbi, client: publicClient });
  return openBalanceOf({ contracts: { openToken }, publicClient }, account);
}

/**
 * Readies `amount` OPEN for a payable protocol call on `spender` (a stake, a deposit): the call's
 * value where OPEN is native, else an approval sent first (one more transaction from the account).
 */
export async function payInto(state: AccountState, spender: Address, amount: bigint): Promise<{ value?: bigint }> {
  if (nativeOpen(state.status!)) return { value: amount };
  await sendTx(state, { address: state.status!.contracts.openToken, abi: openTokenAbi, functionName: 'approve', args: [spender, amount] });
  return {};
}
