import { zeroHash } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';
import { callRoot } from './call-root.ts';
import type { EpochInputs } from './epoch-tree.ts';

/**
 * What an epoch's posted call root (SkillCallRoots) says that its inputs do not: a root other than
 * the root of the calls the inputs settle, a root for an epoch that settles none, or a protocol
 * fee other than the one the inputs split by. A root not posted (yet) is no problem: the calls are
 * paid by the earnings root either way; only feedback and fraud proofs need it.
 *
 * @example
 * const problems = await callRootProblems(contracts, inputs);
 */
export async function callRootProblems(contracts: Pick<ProtocolContracts, 'skillCallRoots'>, inputs: EpochInputs): Promise<string[]> {
  const [posted, fee] = await Promise.all([
    contracts.skillCallRoots.read.callRootOf([inputs.operator, BigInt(inputs.epoch)]),
    contracts.skillCallRoots.read.callFeeBpsOf([inputs.operator, BigInt(inputs.epoch)]),
  ]);
  if (posted === zeroHash) return [];
  const calls = inputs.calls ?? [];
  if (calls.length === 0) return [`the operator posted call root ${posted} for epoch ${inputs.epoch}, which settles no skill call`];
  const problems: string[] = [];
  const expected = callRoot(calls);
  if (posted !== expected) problems.push(`the posted call root is ${posted}; the epoch's calls give ${expected}`);
  if (inputs.callFee && fee !== inputs.callFee.protocolFeeBps) problems.push(`the call root was posted under a protocol fee of ${fee} bps; the epoch splits its calls by ${inputs.callFee.protocolFeeBps}`);
  return problems;
}
