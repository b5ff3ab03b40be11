import type { Address } from 'viem';
import { StakingRole } from '../chain/staking-role.ts';
import type { ProtocolContracts } from '../chain/protocol.ts';

/**
 * What a staker has bonded towards the stakers' pool: its Operator and Validator positions
 * (contributor stakes are positions too, but not the pool's), now or at a past block. The epoch job
 * splits the pool by it; `settlement verify` checks an epoch's stakers against it.
 *
 * @example
 * const bonded = await poolStake(contracts.staking, staker, { blockNumber: posted - 1n });
 */
export async function poolStake(staking: ProtocolContracts['staking'], staker: Address, at?: { blockNumber: bigint }): Promise<bigint> {
  const [operator, validator] = await Promise.all([
    staking.read.positionOf([staker, StakingRole.Operator, 0n], at),
    staking.read.positionOf([staker, StakingRole.Validator, 0n], at),
  ]);
  return operator.bonded + validator.bonded;
}
