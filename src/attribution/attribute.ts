import type { Hex } from 'viem';
import type { AttributionModel } from './attribution-model.ts';
import type { ContributionGroups } from './contribution-groups.ts';
import { combineScores, toPpm, type CombineParameters } from './combine-scores.ts';
import { decideEvidence, type Evidence } from './evidence.ts';
import { influenceScores, nullBaseline } from './influence-scores.ts';
import type { InfluenceMethod } from './influence.ts';
import type { DatanetPoolShare, ReceiptContribution } from './receipt-types.ts';
import { words } from '../util/words.ts';
import { alignToWords, wordBoundaries, wordWeights, type WeightedWord } from './words.ts';

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

/** A maximal span of the output found in the training data, aligned to words, in output characters and tokens. */
export interface AttributedSpan {
  tokens: [number, number];
  chars: [number, number];
  /** Occurrences in the training data. */
  count: number;
  /** Information content of its words (nats under the base model; words the prompt supplied count 0). */
  weight: number;
  /** The credited contributions (group representatives) holding it. */
  contributions: Hex[];
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

/** Output tokens the base model gives at least this surprisal (nats; p ≤ 13.5 %) are content: the output's gradient is taken over them. */
const CONTENT_SURPRISAL = 2;
/** At most this many documents are credited for one span (a span found more often weighs on BM25 instead). */
const MAX_DOCUMENTS_PER_SPAN = 256;
/** Without any verbatim span, BM25 credits the best-matching this-many groups. */
const BM25_GROUPS = 16;

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
  const examples = m.trace.examples;
  const { groups, lexical: bm25Index } = m.corpus(p.groupThreshold);
  const rep = (d: number) => groups.representative[d]!;
  const idOf = (d: number) => examples[d]!.contributionId;

  // the output's words, weighted by the base model's surprisal; the prompt's own words weigh nothing
  const promptText = m.tokenizer.decode(prompt, { skipSpecialTokens: true });
  const outputText = m.tokenizer.decode(output, { skipSpecialTokens: true });
  const offsets = m.tokenizer.pieceOffsets(output, { skipSpecialTokens: true });
  const fromPrompt = new Set(words(promptText).map((w) => w.word));
  const baseSurprisal = output.length > 0 ? await outputSurprisal(m, prompt, output) : new Float32Array(0);
  const outWords: WeightedWord[] = wordWeights(outputText, offsets, baseSurprisal).map((w) => ({ ...w, weight: fromPrompt.has(w.word) ? 0 : w.weight }));

  // 1. spans
  const { starts, ends } = wordBoundaries(outputText, offsets);
  const spanScore = new Map<number, number>();
  const charRanges = new Map<number, Array<[number, number]>>();
  const covered = new Uint8Array(outWords.length);
  const spans: AttributedSpan[] = [];
  for (const s of output.length > 0 ? await m.spans.maximalSpans(output, { minLength: 1 }) : []) {
    const aligned = alignToWords(s.start, s.end, starts, ends);
    if (!aligned) continue;
    const [a, b] = aligned;
    const chars: [number, number] = [offsets[a]![0], offsets[b - 1]![1]];
    const inside = outWords.flatMap((w, k) => (w.start >= chars[0] && w.end <= chars[1] ? [k] : []));
    const weight = inside.reduce((x, k) => x + outWords[k]!.weight, 0);
    if (inside.length === 0 || !(weight > 0)) continue;
    const docs = await m.spans.documentsContaining(output.slice(a, b), MAX_DOCUMENTS_PER_SPAN);
    // a whole-word occurrence: the document holds every word of the span (not just its tokens inside longer words)
    const holders = [...new Set(docs.filter((d) => inside.every((k) => m.documents[d]!.has(outWords[k]!.word))).map(rep))].filter((g) => g >= 0).sort((x, y) => x - y);
    if (holders.length === 0) continue;
    for (const k of inside) covered[k] = 1;
    for (const g of holders) {
      spanScore.set(g, (spanScore.get(g) ?? 0) + weight / holders.length);
      charRanges.set(g, [...(charRanges.get(g) ?? []), chars]);
    }
    spans.push({ tokens: [a, b], chars, count: (await m.spans.count(output.slice(a, b))), weight, contributions: holders.map(idOf) });
  }
  // BM25 of the groups against prompt + output (a group scores as its best member)
  const query = new Set([...fromPrompt, ...outWords.map((w) => w.word)]);
  const bm25 = new Map<number, number>();
  for (const d of bm25Index.candidates(query)) {
    const g = rep(d);
    if (g < 0) continue;
    const s = bm25Index.bm25(d, query);
    if (s > (bm25.get(g) ?? 0)) bm25.set(g, s);
  }
  // span credit reranked by relevance (a group holding the output's words in the question's context
  // outranks one that holds them about something else); no verbatim span at all: relevance alone
  const lexical = new Map<Hex, number>();
  if (spanScore.size > 0) for (const [g, v] of spanScore) lexical.set(idOf(g), v * (bm25.get(g) ?? 0));
  else for (const [g, v] of [...bm25].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, BM25_GROUPS)) lexical.set(idOf(g), v);
  for (const [id, v] of lexical) if (!(v > 0)) lexical.delete(id);

  // 2. influence: excess over the null baseline, a group scoring as its best member
  const influence = new Map<Hex, number>();
  let margin = 0, gain = 0;
  if (output.length > 0) {
    const features = await m.influence(p.influence, p.damping);
    // the gradient of the output's content: template tokens the base model predicts carry no evidence
    const content = Uint8Array.from(baseSurprisal, (x) => (x >= CONTENT_SURPRISAL ? 1 : 0));
    const { scores, surprisal: tuned } = await influenceScores(m, features, prompt, output, content.includes(1) ? content : undefined);
    gain = adapterGain(baseSurprisal, tuned);
    const live = examples.flatMap((e, i) => (e.heldOut || rep(i) < 0 ? [] : [i]));
    const base = nullBaseline(live.map((i) => scores[i]!));
    const bar = base.median + p.nullZ * base.scale;
    const best = new Map<number, number>();
    for (const i of live) {
      const excess = scores[i]! - bar;
      if (excess > 0 && excess > (best.get(rep(i)) ?? 0)) best.set(rep(i), excess);
      if (base.scale > 0) margin = Math.max(margin, (scores[i]! - base.median) / base.scale);
    }
    for (const [g, v] of best) influence.set(idOf(g), v);
  }

  // 3–5. mix, evidence
  const total = outWords.reduce((x, w) => x + w.weight, 0);
  const found = outWords.reduce((x, w, k) => x + (covered[k] ? w.weight : 0), 0);
  const evidence = decideEvidence({ coverage: total > 0 ? found / total : 0, influenceMargin: margin, adapterGain: gain }, p);
  const byId = new Map(examples.map((e, i) => [e.contributionId, i]));
  const signals = { span: lexical, influence };
  if (evidence.abstained) return { contributions: [], pools: datanetPools(m, groups), evidence, spans, signals };
  const contributions = combineScores(lexical, influence, p).map((s) => {
    const g = byId.get(s.contributionId)!;
    const members = groups.members.get(g) ?? [g];
    return {
      contributionId: s.contributionId,
      datanetId: examples[g]!.datanetId,
      sharePpm: s.sharePpm,
      span: s.span,
      influence: s.influence,
      spans: charRanges.get(g) ?? [],
      group: { size: members.length, others: members.slice(1, 1 + MAX_GROUP_LISTED).map(idOf) },
    };
  });
  return { contributions, pools: [], evidence, spans, signals };
}

/** A receipt lists at most this many other members of a credited group (its size says how many there are). */
const MAX_GROUP_LISTED = 8;

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

/** The base model's surprisal of each output token given the prompt (nats). */
async function outputSurprisal(m: AttributionModel, prompt: readonly number[], output: readonly number[]): Promise<Float32Array> {
  const seq = [...prompt, ...output];
  const r = await m.model.loss(Int32Array.from(seq.slice(0, -1)), Int32Array.from(seq.slice(1)), 1, seq.length - 1, null);
  return r.tokenLosses.slice(prompt.length - 1);
}

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
