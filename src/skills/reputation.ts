import type { Hex } from 'viem';
import type { ProtocolContracts } from '../chain/protocol.ts';

/** The tags a skill's feedback carries in the ReputationRegistry: ours, and the skill's id. */
export const feedbackTags = (skill: Hex) => ({ tag1: 'openledger-skill', tag2: skill.toLowerCase() });

/**
 * A skill's reputation from the ReputationRegistry: how many feedbacks its paid calls' payers gave
 * its agent for it, their score (0–100) weighted by what each call paid, and what those calls paid.
 * Feedback needs proof of a paid call (one per call), so the score cannot be bought without paying
 * for the calls, protocol fees and inferences included.
 *
 * @example
 * const r = await skillReputation(contracts, agentId, skill.id); // { feedback: 3, score: 87.5, paid: 150000000000000000n }
 */
export async function skillReputation(contracts: Pick<ProtocolContracts, 'reputationRegistry'>, agentId: bigint, skill: Hex): Promise<{ feedback: number; score: number | null; paid: bigint }> {
  const { tag1, tag2 } = feedbackTags(skill);
  const [count, value, decimals, paid] = await contracts.reputationRegistry.read.getSummary([agentId, [], tag1, tag2]);
  return { feedback: Number(count), score: count === 0n ? null : Number(value) / 10 ** decimals, paid };
}

/** The tag of a validation that re-ran a call (`openledger skill validate --respond`). */
export const RERUN_TAG = 'openledger-rerun';

/**
 * An agent's validations in the ValidationRegistry: how many of its calls staked validators re-ran
 * and answered, and their average answer (0–100; null when none).
 *
 * @example
 * const v = await agentValidations(contracts, agentId); // { count: 2, average: 100 }
 */
export async function agentValidations(contracts: Pick<ProtocolContracts, 'validationRegistry'>, agentId: bigint): Promise<{ count: number; average: number | null }> {
  const [count, average] = await contracts.validationRegistry.read.getSummary([agentId, [], RERUN_TAG]);
  return { count: Number(count), average: count === 0n ? null : Number(average) };
}
