/**
 * The roles of `Staking` (its `Role` enum), by name. A position is keyed by (staker, role, scope):
 * scope 0 for the network-wide Operator and Validator roles, the datanet's id for a Contributor.
 *
 * @example
 * await staking.write.stake([StakingRole.Contributor, BigInt(datanetId), amount]);
 */
export const StakingRole = { Operator: 0, Validator: 1, Contributor: 2 } as const;
