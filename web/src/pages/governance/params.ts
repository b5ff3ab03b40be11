import type { PublicClient } from 'viem';
import { attributionSettlementAbi, inferenceEscrowAbi, openGovernorAbi, openTimelockAbi, stakingAbi } from '../../../../src/chain/generated/index.ts';
import type { ProtocolAddresses } from '../../../../src/chain/protocol.ts';

/** The protocol parameters that governance controls, as they are on chain now. */
export interface GovParams {
  feeSplit: { modelOwnerBps: number; datanetOwnersBps: number; contributorsBps: number; stakersBps: number };
  attributionThresholdPpm: number;
  evidenceThresholdPpm: number;
  spanWeightBps: number;
  challengeWindow: bigint;
  disputeBond: bigint;
  operatorSlashAmount: bigint;
  withdrawalDelay: bigint;
  minimumOperatorStake: bigint;
  unbondingDelay: bigint;
  votingDelay: bigint;
  votingPeriod: bigint;
  proposalThreshold: bigint;
  /** Votes needed for quorum at the last clock point, and its fraction of the supply. */
  quorum: bigint;
  quorumNumerator: bigint;
  quorumDenominator: bigint;
  timelockDelay: bigint;
}

/** Reads {@link GovParams} from the chain. */
export async function readGovParams(client: PublicClient, c: ProtocolAddresses): Promise<GovParams> {
  const s = { address: c.attributionSettlement, abi: attributionSettlementAbi } as const;
  const g = { address: c.governor, abi: openGovernorAbi } as const;
  const clock = await client.readContract({ ...g, functionName: 'clock' });
  const [split, threshold, evidenceThreshold, spanWeight, challengeWindow, disputeBond, slash, withdrawalDelay, minStake, unbonding, votingDelay, votingPeriod, proposalThreshold, quorum, qNum, qDen, minDelay] = await Promise.all([
    client.readContract({ ...s, functionName: 'feeSplit' }),
    client.readContract({ ...s, functionName: 'attributionThresholdPpm' }),
    client.readContract({ ...s, functionName: 'evidenceThresholdPpm' }),
    client.readContract({ ...s, functionName: 'spanWeightBps' }),
    client.readContract({ ...s, functionName: 'challengeWindow' }),
    client.readContract({ ...s, functionName: 'disputeBond' }),
    client.readContract({ ...s, functionName: 'operatorSlashAmount' }),
    client.readContract({ address: c.inferenceEscrow, abi: inferenceEscrowAbi, functionName: 'withdrawalDelay' }),
    client.readContract({ address: c.staking, abi: stakingAbi, functionName: 'minimumStake', args: [0] }),
    client.readContract({ address: c.staking, abi: stakingAbi, functionName: 'unbondingDelay', args: [0] }), // operators'
    client.readContract({ ...g, functionName: 'votingDelay' }),
    client.readContract({ ...g, functionName: 'votingPeriod' }),
    client.readContract({ ...g, functionName: 'proposalThreshold' }),
    // quorum() only looks at past clock points.
    client.readContract({ ...g, functionName: 'quorum', args: [BigInt(clock) > 0n ? BigInt(clock) - 1n : 0n] }),
    client.readContract({ ...g, functionName: 'quorumNumerator' }),
    client.readContract({ ...g, functionName: 'quorumDenominator' }),
    client.readContract({ address: c.timelock, abi: openTimelockAbi, functionName: 'getMinDelay' }),
  ]);
  const [modelOwnerBps, datanetOwnersBps, contributorsBps, stakersBps] = split;
  return {
    feeSplit: { modelOwnerBps, datanetOwnersBps, contributorsBps, stakersBps },
    attributionThresholdPpm: threshold,
    evidenceThresholdPpm: evidenceThreshold,
    spanWeightBps: spanWeight,
    challengeWindow: BigInt(challengeWindow),
    disputeBond,
    operatorSlashAmount: slash,
    withdrawalDelay: BigInt(withdrawalDelay),
    minimumOperatorStake: minStake,
    unbondingDelay: BigInt(unbonding),
    votingDelay,
    votingPeriod,
    proposalThreshold,
    quorum,
    quorumNumerator: qNum,
    quorumDenominator: qDen,
    timelockDelay: minDelay,
  };
}
