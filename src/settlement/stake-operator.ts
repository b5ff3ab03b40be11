import { formatEther } from 'viem';
import { CodedError } from '../util/coded-error.ts';
import type { ChainClients } from '../chain/clients.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { StakingRole } from '../chain/staking-role.ts';
import { openBalanceOf, payOpen } from '../chain/open-payment.ts';

/**
 * Makes the node's account an active operator (settlement posts only from one): stakes the
 * minimum operator stake when it is not active, from the account's own OPEN (an error says how
 * much is missing). Returns whether it staked now.
 *
 * @example
 * if (await stakeOperator(clients, contracts)) console.log('staked');
 */
export async function stakeOperator(clients: ChainClients, contracts: ProtocolContracts): Promise<boolean> {
  const me = clients.account.address;
  if (await contracts.staking.read.isActive([me, StakingRole.Operator])) return false;
  const [minimum, position] = await Promise.all([contracts.staking.read.minimumStake([StakingRole.Operator]), contracts.staking.read.positionOf([me, StakingRole.Operator, 0n])]);
  const needed = minimum > position.bonded ? minimum - position.bonded : 1n;
  const balance = await openBalanceOf({ contracts, publicClient: clients.publicClient }, me);
  if (balance < needed) {
    throw new CodedError('insufficient_stake', `the node's account ${me} holds ${formatEther(balance)} OPEN; an operator stakes at least ${formatEther(minimum)} OPEN (${formatEther(needed)} more): send it OPEN, then start the node again`);
  }
  const wait = (hash: `0x${string}`) => clients.publicClient.waitForTransactionReceipt({ hash });
  await wait(await contracts.staking.write.stake([StakingRole.Operator, 0n, needed], await payOpen(contracts, contracts.staking.address, needed, wait)));
  return true;
}
