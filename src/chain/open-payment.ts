import { isAddressEqual, type Account, type Address, type Chain, type Hash, type PublicClient, type Transport, type WalletClient } from 'viem';
import { WRAPPED_OPEN_ADDRESS } from './profiles.ts';
import type { ProtocolContracts } from './protocol.ts';

type OpenTokenHandle = Pick<ProtocolContracts['openToken'], 'address' | 'read' | 'write'>;

/**
 * Whether the deployment's OPEN is the chain's native coin (its contracts hold WOPEN, the
 * predeploy), rather than an ERC-20.
 *
 * @example
 * if (isNativeOpen(contracts)) console.log('OPEN pays gas here');
 */
export function isNativeOpen(contracts: { openToken: { address: Address } }): boolean {
  return isAddressEqual(contracts.openToken.address, WRAPPED_OPEN_ADDRESS);
}

/**
 * Readies a payment of `amount` OPEN into a payable protocol call on `spender` (a stake, an escrow
 * deposit, a dispute or listing bond): where OPEN is the native coin the call carries it, so this
 * returns `{ value: amount }` to pass as the call's options; otherwise it approves `spender` for
 * `amount` first (waiting for the approval) and returns no value.
 *
 * @example
 * await wait(await contracts.staking.write.stake([role, 0n, amount], await payOpen(contracts, contracts.staking.address, amount, wait)));
 */
export async function payOpen(
  contracts: { openToken: OpenTokenHandle },
  spender: Address,
  amount: bigint,
  wait: (hash: Hash) => Promise<unknown>,
): Promise<{ value?: bigint }> {
  if (isNativeOpen(contracts)) return amount > 0n ? { value: amount } : {};
  if (amount > 0n) await wait(await contracts.openToken.write.approve([spender, amount]));
  return {};
}

/**
 * The OPEN `account` can pay with: its native balance where OPEN is the native coin (WOPEN it holds
 * is not counted: unwrap it first), else its token balance.
 *
 * @example
 * const balance = await openBalanceOf({ contracts, publicClient }, me);
 */
export async function openBalanceOf(chain: { contracts: { openToken: Pick<OpenTokenHandle, 'address' | 'read'> }; publicClient: Pick<PublicClient, 'getBalance'> }, account: Address): Promise<bigint> {
  return isNativeOpen(chain.contracts) ? chain.publicClient.getBalance({ address: account }) : chain.contracts.openToken.read.balanceOf([account]);
}

/**
 * Sends `amount` OPEN to `to`: a plain transfer of the native coin where OPEN is native, else the
 * token's `transfer`.
 *
 * @example
 * await publicClient.waitForTransactionReceipt({ hash: await sendOpen({ contracts, walletClient }, to, amount) });
 */
export function sendOpen(
  chain: { contracts: { openToken: OpenTokenHandle }; walletClient: WalletClient<Transport, Chain, Account> },
  to: Address,
  amount: bigint,
): Promise<Hash> {
  return isNativeOpen(chain.contracts) ? chain.walletClient.sendTransaction({ to, value: amount }) : chain.contracts.openToken.write.transfer([to, amount]);
}
