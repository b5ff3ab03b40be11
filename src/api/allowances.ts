import type { Allowance } from '../store/caller-quota.ts';

/**
 * What one caller may make the node pay gas for, per day: each of these requests sends the node's
 * own transactions (registering a datanet and handing it over, anchoring a batch, recording a
 * snapshot, slashing a spammer). Beyond it the node answers 429 with Retry-After. Fine-tuning is
 * bounded by the active jobs per owner instead; inference and settlement are paid for.
 */
export interface NodeAllowances {
  datanetRegistration: Allowance;
  anchoring: Allowance;
  snapshot: Allowance;
  slash: Allowance;
}

const DAY = 86_400;

export const defaultAllowances: NodeAllowances = {
  datanetRegistration: { count: 20, windowSeconds: DAY },
  anchoring: { count: 200, windowSeconds: DAY },
  snapshot: { count: 50, windowSeconds: DAY },
  slash: { count: 500, windowSeconds: DAY },
};

/** How each action is named in the caller's 429 message and in the `caller_actions` table. */
export const allowanceActions: Record<keyof NodeAllowances, string> = {
  datanetRegistration: 'datanet registrations',
  anchoring: 'anchorings',
  snapshot: 'snapshots',
  slash: 'spam slashes',
};
