import type { Hex } from 'viem';
import type { AttributionModel } from './attribution-model.ts';
import type { ContributionGroups } from './contribution-groups.ts';
import { influenceScores, nullBaseline } from './influence-scores.ts';
import type { InfluenceMethod } from './influence.ts';

/** Output tokens the base model gives at least this surprisal (nats; p ≤ 13.5 %) are content: the output's gradient is taken over them. */
const CONTENT_SURPRISAL = 2;

/**
 * Which output tokens are content: those the base model could not predict (surprisal ≥ 2 nats);
 * undefined (every token) when none is.
 */
export function contentTokens(baseSurprisal: Float32Array): Uint8Array | undefined {
  const content = Uint8Array.from(baseSurprisal, (x) => (x >= CONTENT_SURPRISAL ? 1 : 0));
  return content.includes(1) ? content : undefined;
}

/**
 * The influence signal of an output: every training example's influence (`method`, e.g. `relatif`)
 * on the loss of the output's content tokens — those the base model could not predict; template
 * tokens carry no evidence — a group scoring as its best member, kept only above the null baseline
 * (median + `nullZ` robust standard deviations of the groups' scores: copies, one group, weigh once). Also the
 * margin of the strongest score over the null, and the adapter gain (what of the output's
 * information the fine-tuning supplied), for the evidence.
 *
 * @example
 * const { scores, margin, gain } = await influenceSignal(m, groups, { influence: 'relatif', damping: 1, nullZ: 3 }, promptIds, outputIds, baseSurprisal);
 */
export async function influenceSignal(
  m: AttributionModel,
  groups: ContributionGroups,
  p: { influence: InfluenceMethod; damping: number; nullZ: number },
  prompt: readonly number[],
  output: readonly number[],
  baseSurprisal: Float32Array,
): Promise<{ scores: Map<Hex, number>; margin: number; gain: number }> {
  const scores = new Map<Hex, number>();
  if (output.length === 0) return { scores, margin: 0, gain: 0 };
  const r = await influenceScores(m, await m.influence(p.influence, p.damping), prompt, output, contentTokens(baseSurprisal));
  const rep = (d: number) => groups.representative[d]!;
  // one score per group, its best member's: the null is taken over groups, not examples, so copies
  // of a record (one group) cannot move the bar every other group is measured against
  const groupScore = new Map<number, number>();
  m.trace.examples.forEach((e, i) => {
    if (e.heldOut || rep(i) < 0) return;
    const g = rep(i);
    if (!groupScore.has(g) || r.scores[i]! > groupScore.get(g)!) groupScore.set(g, r.scores[i]!);
  });
  const base = nullBaseline([...groupScore.values()]);
  const bar = base.median + p.nullZ * base.scale;
  let margin = 0;
  for (const [g, score] of groupScore) {
    if (score > bar) scores.set(m.trace.examples[g]!.contributionId, score - bar);
    if (base.scale > 0) margin = Math.max(margin, (score - base.median) / base.scale);
  }
  return { scores, margin, gain: adapterGain(baseSurprisal, r.surprisal) };
}

/**
 * Share of the output's base-model surprisal that the fine-tuned model no longer has — what the
 * fine-tuning supplied: (Σ base − Σ tuned) / Σ base over its tokens, in [0, 1]. What the base model
 * says on its own, the fine-tuned model finds no likelier (≈ 0); noise neither finds likely (≈ 0).
 */
function adapterGain(base: Float32Array, tuned: Float32Array): number {
  let total = 0, net = 0;
  for (let t = 0; t < base.length; t++) {
    total += base[t]!;
    net += base[t]! - tuned[t]!;
  }
  return total > 0 ? Math.min(1, Math.max(0, net / total)) : 0;
}
