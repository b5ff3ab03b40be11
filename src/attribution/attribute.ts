import type { Hex } from 'viem';
import type { AttributionModel } from './attribution-model.ts';
import { combineScores, toPpm, type CombineParameters } from './combine-scores.ts';
import type { ContributionGroups } from './contribution-groups.ts';
import { decideEvidence, type Evidence } from './evidence.ts';
import { outputSurprisal } from './influence-scores.ts';
import { influenceSignal } from './influence-signal.ts';
import type { InfluenceMethod } from './influence.ts';
import type { DatanetPoolShare, ReceiptContribution } from './receipt-types.ts';
import { spanSignal, type AttributedSpan } from './span-signal.ts';
import { words } from '../util/words.ts';
import { wordWeights } from './words.ts';

/** Everything attribution depends on besides the model and its trace (recorded in every receipt). */
export interface AttributionParameters extends CombineParameters {
  /** Below this evidence (ppm) no contribution is credited; the contributors' share goes to the datanets' pools (governance). */
  evidenceThresholdPpm: number;
  /** Similarity at which two contributions say the same thing (one group). */
  groupThreshold: number;
  /** How influence is computed from the trace's gradients, and its damping (λ = damping × mean eigenvalue per layer). */
  influence: InfluenceMethod;
  damping: number;
  /** Influence scores count only above median + `nullZ` robust standard deviations of all the examples' scores. */
  nullZ: number;
}

export interface AttributionResult {
  /** Credited contributions, each its group's representative (none when attribution abstained). */
  contributions: ReceiptContribution[];
  /** When attribution abstained: the contributors' share, by datanet. */
  pools: DatanetPoolShare[];
  evidence: Evidence;
  spans: AttributedSpan[];
  /** Per group representative, before mixing: the span and influence signals (what evaluation ranks by). */
  signals: { span: Map<Hex, number>; influence: Map<Hex, number> };
}

/**
 * Attributes an output to the contribution groups its model was trained on:
 *
 * 1. **Spans** (OLMoTrace): the maximal spans of the output found verbatim in the training
 *    tokens, shrunk to whole words, each weighing the information content of its words — the base
 *    model's surprisal of them, 0 for words the prompt supplied — and split between the groups
 *    whose documents hold all its words; each group's span credit is then reranked by its BM25
 *    relevance to prompt + output (a group holding the output's words in the question's context
 *    outranks one holding them about something else). An output with no verbatim span at all
 *    falls back on BM25 relevance alone.
 * 2. **Influence**: the gradient of the output's content tokens (those the base model could not
 *    predict) with respect to the adapter, projected as the trace's, scored against every
 *    training example (`relatif` by default: preconditioned by the per-layer Fisher, normalised by
 *    self-influence); only scores above the null baseline (median + `nullZ` robust s.d. of all
 *    examples' scores) count.
 * 3. Groups: contributions that say the same thing are credited once, through the earliest.
 * 4. The two signals are normalised and mixed by the governance weight; shares under the
 *    threshold are dropped; integer ppm.
 * 5. Evidence: the share of the output's information found in spans, and the influence margin;
 *    under the governance threshold nobody is credited and the share goes to the datanets' pools.
 *
 * @example
 * const r = await attribute(m, promptIds, outputIds, parameters);
 */
export async function attribute(m: AttributionModel, prompt: readonly number[], output: readonly number[], p: AttributionParameters): Promise<AttributionResult> {
  if (prompt.length === 0) throw new RangeError('attribution needs a prompt of at least one token (the bos token counts)');
  const examples = m.trace.examples;
  const corpus = m.corpus(p.groupThreshold);
  const idOf = (d: number) => examples[d]!.contributionId;

  // the output's words, weighted by the base model's surprisal; the prompt's own words weigh nothing
  const promptWords = new Set(words(m.tokenizer.decode(prompt, { skipSpecialTokens: true })).map((w) => w.word));
  const outputText = m.tokenizer.decode(output, { skipSpecialTokens: true });
  const offsets = m.tokenizer.pieceOffsets(output, { skipSpecialTokens: true });
  const baseSurprisal = output.length > 0 ? await outputSurprisal(m, prompt, output) : new Float32Array(0);
  const outWords = wordWeights(outputText, offsets, baseSurprisal).map((w) => ({ ...w, weight: promptWords.has(w.word) ? 0 : w.weight }));

  const span = await spanSignal(m, corpus, output, offsets, outputText, outWords, promptWords);
  const influence = await influenceSignal(m, corpus.groups, p, prompt, output, baseSurprisal);

  const total = outWords.reduce((x, w) => x + w.weight, 0);
  const found = outWords.reduce((x, w, k) => x + (span.covered[k] ? w.weight : 0), 0);
  const evidence = decideEvidence({ coverage: total > 0 ? found / total : 0, influenceMargin: influence.margin, adapterGain: influence.gain }, p);
  const signals = { span: span.scores, influence: influence.scores };
  if (evidence.abstained) return { contributions: [], pools: datanetPools(m, corpus.groups), evidence, spans: span.spans, signals };
  const byId = new Map(examples.map((e, i) => [e.contributionId, i]));
  const contributions = combineScores(span.scores, influence.scores, p).map((s) => {
    const g = byId.get(s.contributionId)!;
    const members = corpus.groups.members.get(g) ?? [g];
    return {
      contributionId: s.contributionId,
      datanetId: examples[g]!.datanetId,
      sharePpm: s.sharePpm,
      span: s.span,
      influence: s.influence,
      spans: span.charRanges.get(g) ?? [],
      group: { size: members.length, others: members.slice(1, 1 + MAX_GROUP_LISTED).map(idOf) },
    };
  });
  return { contributions, pools: [], evidence, spans: span.spans, signals };
}

/** A receipt lists at most this many other members of a credited group (its size says how many there are). */
const MAX_GROUP_LISTED = 8;

/**
 * Where the contributors' share goes when attribution abstains: the datanets the model was
 * trained on, in proportion to their contribution groups in its training set (not to whichever
 * records noise would have picked).
 */
function datanetPools(m: AttributionModel, groups: ContributionGroups): DatanetPoolShare[] {
  const counts = new Map<number, number>();
  for (const g of groups.members.keys()) counts.set(m.trace.examples[g]!.datanetId, (counts.get(m.trace.examples[g]!.datanetId) ?? 0) + 1);
  const ppm = toPpm([...counts].sort((a, b) => a[0] - b[0]));
  return [...ppm].map(([datanetId, sharePpm]) => ({ datanetId, sharePpm })).filter((x) => x.sharePpm > 0);
}
