import { encodeFunctionData, type Address, type Hex } from 'viem';
import { attributionSettlementAbi } from '../../../../src/chain/generated/index.ts';

/** The four shares of the fee split: field, label, test id. */
export const SHARES = [
  ['modelOwnerBps', 'Model owner (bps)', 'model-owner'],
  ['datanetOwnersBps', 'Datanet owners (bps)', 'datanet-owners'],
  ['contributorsBps', 'Contributors (bps)', 'contributors'],
  ['stakersBps', 'Stakers (bps)', 'stakers'],
] as const;
export type Share = (typeof SHARES)[number][0];

/** What the proposal form holds (strings as typed). */
export interface FormState {
  changeSplit: boolean;
  split: Record<Share, string>;
  changeThreshold: boolean;
  threshold: string;
  changeEvidence: boolean;
  evidence: string;
  description: string;
}

export type Errors = Partial<Record<Share | 'splitSum' | 'threshold' | 'evidence' | 'description' | 'form', string>>;

/** A non-negative whole number as typed. */
export const isUint = (s: string) => /^\d+$/.test(s.trim());

/** Checks the form; returns the messages per field (empty when it may be sent). */
export function validate(f: FormState): Errors {
  const e: Errors = {};
  if (!f.changeSplit && !f.changeThreshold && !f.changeEvidence) e.form = 'Choose at least one change: the fee split, the attribution threshold or the evidence threshold.';
  if (f.changeSplit) {
    for (const [key] of SHARES) {
      if (!isUint(f.split[key]) || Number(f.split[key]) > 10_000) e[key] = 'A whole number of bps from 0 to 10,000.';
    }
    const sum = SHARES.reduce((a, [k]) => a + (isUint(f.split[k]) ? Number(f.split[k]) : 0), 0);
    if (!SHARES.some(([k]) => e[k]) && sum !== 10_000) e.splitSum = `The shares sum to ${sum.toLocaleString('en')} bps; they must sum to 10,000.`;
  }
  if (f.changeThreshold && (!isUint(f.threshold) || Number(f.threshold) > 1_000_000)) e.threshold = 'A whole number of ppm from 0 to 1,000,000.';
  if (f.changeEvidence && (!isUint(f.evidence) || Number(f.evidence) > 1_000_000)) e.evidence = 'A whole number of ppm from 0 to 1,000,000.';
  if (!f.description.trim()) e.description = 'Say what the proposal changes and why; voters read this.';
  return e;
}

/** The proposal's actions: calls to AttributionSettlement.setFeeSplit / setAttributionThreshold / setEvidenceThreshold. */
export function actionsOf(f: FormState, settlement: Address): { targets: Address[]; values: bigint[]; calldatas: Hex[] } {
  const calldatas: Hex[] = [];
  if (f.changeSplit) {
    const split = Object.fromEntries(SHARES.map(([k]) => [k, Number(f.split[k])])) as Record<Share, number>;
    calldatas.push(encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'setFeeSplit', args: [split] }));
  }
  if (f.changeThreshold) {
    calldatas.push(encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'setAttributionThreshold', args: [Number(f.threshold)] }));
  }
  if (f.changeEvidence) {
    calldatas.push(encodeFunctionData({ abi: attributionSettlementAbi, functionName: 'setEvidenceThreshold', args: [Number(f.evidence)] }));
  }
  return { targets: calldatas.map(() => settlement), values: calldatas.map(() => 0n), calldatas };
}
