import { BaseError, ContractFunctionRevertedError, type Abi, type Hex } from 'viem';
import { attributionSettlementAbi, inferenceEscrowAbi, stakingAbi } from '../../../../src/chain/generated/index.ts';
import { protocolAbis } from '../../../../src/chain/protocol.ts';

/** Governor proposal states, by their number (OpenZeppelin IGovernor.ProposalState). */
export const PROPOSAL_STATES = ['Pending', 'Active', 'Canceled', 'Defeated', 'Succeeded', 'Queued', 'Expired', 'Executed'] as const;
export type ProposalState = (typeof PROPOSAL_STATES)[number];

/** GovernorCountingSimple vote types. */
export const SUPPORT = { Against: 0, For: 1, Abstain: 2 } as const;

/**
 * The governor's ABI with the errors of everything a proposal reaches (timelock, and the contracts
 * its actions call), so a revert of propose/queue/execute is decoded by name.
 */
export const governorTxAbi: Abi = [
  ...protocolAbis.governor,
  ...([attributionSettlementAbi, stakingAbi, inferenceEscrowAbi] as Abi[]).flatMap((abi) => abi.filter((i) => i.type === 'error')),
];

/** Seconds as people read them: "2 d", "1 h 30 min", "45 s". */
export function duration(seconds: bigint | number): string {
  let s = Number(seconds);
  if (s === 0) return '0 s';
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['min', 60], ['s', 1]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}

/** Basis points as a percentage: 3000 → "30%". */
export const pct = (bps: number | bigint, denominator = 10_000): string => `${((Number(bps) * 100) / denominator).toLocaleString('en', { maximumFractionDigits: 4 })}%`;

const readable = (v: unknown): string => (typeof v === 'bigint' ? v.toString() : Array.isArray(v) ? `[${v.map(readable).join(', ')}]` : String(v));

/** States of a timelock operation / governor proposal encoded as a bitmap (bytes32), as names. */
function statesOfBitmap(bitmap: Hex, names: readonly string[]): string {
  const bits = BigInt(bitmap);
  return names.filter((_, i) => (bits >> BigInt(i)) & 1n).join(' or ');
}

/**
 * A transaction's failure in plain words: the contract's error by name (with a sentence for the
 * common governance ones), else viem's short message, else the error's own message.
 */
export function plainTxError(e: unknown): Error {
  if (e instanceof BaseError) {
    const revert = e.walk((x) => x instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError) {
      const name = revert.data?.errorName;
      const args = (revert.data?.args ?? []) as readonly unknown[];
      switch (name) {
        case 'GovernorInsufficientProposerVotes':
          return new Error(`Your votes (${readable(args[1])} wei) are below the proposal threshold (${readable(args[2])} wei): delegate your OPEN to yourself first.`);
        case 'GovernorAlreadyCastVote':
          return new Error('This account has already voted on this proposal.');
        case 'GovernorUnexpectedProposalState':
          if (BigInt(args[2] as Hex) === 0n) return new Error(`A proposal with the same actions and description exists already (it is ${PROPOSAL_STATES[Number(args[1])] ?? String(args[1])}): change the description.`);
          return new Error(`The proposal is ${PROPOSAL_STATES[Number(args[1])] ?? String(args[1])}; this needs it to be ${statesOfBitmap(args[2] as Hex, PROPOSAL_STATES) || 'in another state'}.`);
        case 'GovernorNonexistentProposal':
          return new Error('No such proposal on this chain.');
        case 'TimelockUnexpectedOperationState':
          return new Error(`The timelock operation is not ${statesOfBitmap(args[1] as Hex, ['Unset', 'Waiting', 'Ready', 'Done']) || 'in the right state'}: the timelock delay may not have passed yet.`);
        case 'AttributionSettlementInvalidFeeSplit':
          return new Error(`The fee split shares must sum to 10,000 bps (these sum to ${args.reduce<number>((sum, bps) => sum + Number(bps), 0)}).`);
        case 'AttributionSettlementInvalidAttributionThreshold':
          return new Error(`The attribution threshold is at most 1,000,000 ppm (not ${readable(args[0])}).`);
        case 'AttributionSettlementInvalidEvidenceThreshold':
          return new Error(`The evidence threshold is at most 1,000,000 ppm (not ${readable(args[0])}).`);
        case 'AttributionSettlementInvalidSpanWeight':
          return new Error(`The span weight is at most 10,000 bps (not ${readable(args[0])}).`);
        case 'AttributionSettlementInvalidChallengeWindow':
          return new Error('The challenge window must be longer than 0 seconds.');
        case 'AttributionSettlementInvalidDisputeTimeout':
          return new Error('The dispute timeout must be longer than 0 seconds.');
        case undefined:
          break;
        default:
          return new Error(`The contract refused: ${name}(${args.map(readable).join(', ')})`);
      }
      if (revert.reason) return new Error(`The contract refused: ${revert.reason}`);
    }
    return new Error(e.shortMessage);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** The governor's clock (block number or timestamp, per ERC-6372) and the latest block's time. */
export interface GovClock {
  mode: 'blocknumber' | 'timestamp';
  /** The governor's clock now. */
  now: bigint;
  /** The latest block's number and timestamp (seconds). */
  block: bigint;
  timestamp: bigint;
}

/** A governor timepoint relative to now: "block 1,234 (in 5 blocks)" or a date. */
export function timepoint(at: bigint, clock: GovClock): string {
  if (clock.mode === 'timestamp') return new Date(Number(at) * 1000).toLocaleString();
  const d = at - clock.now;
  const rel = d > 0n ? `in ${d.toLocaleString('en')} block${d === 1n ? '' : 's'}` : d === 0n ? 'now' : `${(-d).toLocaleString('en')} blocks ago`;
  return `block ${at.toLocaleString('en')} (${rel})`;
}
