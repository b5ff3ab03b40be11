import { getAddress, isAddressEqual, type Address, type PublicClient } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';
import type { EpochInputs } from './epoch-tree.ts';
import { poolStake } from './pool-stake.ts';

/**
 * What an epoch's payee map says that the chain does not: a datanet's or a model's owner other
 * than the registry's, a staker's bonded stake other than its position, at the block before the
 * epoch was posted (when the node prepared it). `settlement verify` adds these to the
 * recomputation's problems, so a node cannot pay a made-up owner or staker with receipts that
 * recompute exactly. (Contributors are checked by the receipts' signatures and the contribution
 * ids; deriving each id from its content is left to `attribution verify`.)
 *
 * @example
 * const problems = await payeeProblems({ contracts, publicClient }, inputs);
 */
export async function payeeProblems(chain: { contracts: ProtocolContracts; publicClient: Pick<PublicClient, 'getContractEvents'> }, inputs: EpochInputs): Promise<string[]> {
  const settlement = chain.contracts.attributionSettlement;
  const [posted] = await chain.publicClient.getContractEvents({ address: settlement.address, abi: settlement.abi, eventName: 'EpochPosted', args: { epoch: BigInt(inputs.epoch), operator: inputs.operator }, fromBlock: 0n });
  if (!posted) return [`epoch ${inputs.epoch} of ${inputs.operator} was never posted`];
  const at = { blockNumber: posted.blockNumber - 1n };
  const { datanetRegistry, modelRegistry, staking } = chain.contracts;
  const problems: string[] = [];
  for (const [id, owner] of Object.entries(inputs.payees.datanetOwners)) {
    const onChain = (await datanetRegistry.read.getDatanet([BigInt(id)], at)).owner;
    if (!isAddressEqual(onChain, owner)) problems.push(`the payee map gives datanet ${id}'s owner as ${owner}; the DatanetRegistry says ${getAddress(onChain)}`);
  }
  for (const [name, owner] of Object.entries(inputs.payees.modelOwners)) {
    const id = await modelRegistry.read.modelIdByName([name], at);
    if (id === 0n) {
      problems.push(`the payee map names an owner for model ${name}, which the ModelRegistry does not know`);
      continue;
    }
    const onChain = (await modelRegistry.read.getModel([id], at)).owner;
    if (!isAddressEqual(onChain, owner)) problems.push(`the payee map gives model ${name}'s owner as ${owner}; the ModelRegistry says ${getAddress(onChain)}`);
  }
  for (const { staker, bonded } of inputs.stakers) {
    const onChain = await poolStake(staking, staker as Address, at);
    if (onChain !== BigInt(bonded)) problems.push(`the payee map gives staker ${staker} ${bonded} wei bonded; Staking says ${onChain}`);
  }
  return problems;
}
