import type { Hex } from 'viem';
import type { AttributionModel } from './attribution-model.ts';
import type { ContributionGroups } from './contribution-groups.ts';
import type { LexicalIndex } from './lexical-index.ts';
import { alignToWords, wordBoundaries, type WeightedWord } from './words.ts';

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

/** At most this many documents are credited for one span (a span found more often weighs on BM25 instead). */
const MAX_DOCUMENTS_PER_SPAN = 256;
/** Without any verbatim span, BM25 credits the best-matching this-many groups. */
const BM25_GROUPS = 16;

/**
 * The span signal of an output (OLMoTrace): its maximal spans found verbatim in the training
 * tokens, shrunk to whole words, each weighing the information of its words (`words`: the output's
 * words, weighted, the prompt's own at 0) and split between the groups whose documents hold every
 * word of it; each group's span credit then multiplied by its BM25 relevance to the prompt's and the
 * output's words (a group holding the output's words in the question's context outranks one holding
 * them about something else). An output with no verbatim span falls back on BM25 alone. Also which
 * output words were found (`covered`, for the evidence) and where (`charRanges` per group).
 *
 * @example
 * const { scores, covered } = await spanSignal(m, corpus, outputIds, offsets, outputText, words, promptWords);
 */
export async function spanSignal(
  m: AttributionModel,
  corpus: { groups: ContributionGroups; lexical: LexicalIndex },
  output: readonly number[],
  offsets: ReadonlyArray<readonly [number, number]>,
  outputText: string,
  words: readonly WeightedWord[],
  promptWords: ReadonlySet<string>,
): Promise<{ scores: Map<Hex, number>; charRanges: Map<number, Array<[number, number]>>; covered: Uint8Array; spans: AttributedSpan[] }> {
  const rep = (d: number) => corpus.groups.representative[d]!;
  const idOf = (d: number) => m.trace.examples[d]!.contributionId;
  const { starts, ends } = wordBoundaries(outputText, offsets);
  const credit = new Map<number, number>();
  const charRanges = new Map<number, Array<[number, number]>>();
  const covered = new Uint8Array(words.length);
  const spans: AttributedSpan[] = [];
  for (const s of output.length > 0 ? await m.spans.maximalSpans(output, { minLength: 1 }) : []) {
    const aligned = alignToWords(s.start, s.end, starts, ends);
    if (!aligned) continue;
    const [a, b] = aligned;
    const chars: [number, number] = [offsets[a]![0], offsets[b - 1]![1]];
    const inside = words.flatMap((w, k) => (w.start >= chars[0] && w.end <= chars[1] ? [k] : []));
    const weight = inside.reduce((x, k) => x + words[k]!.weight, 0);
    if (inside.length === 0 || !(weight > 0)) continue;
    const docs = await m.spans.documentsContaining(output.slice(a, b), MAX_DOCUMENTS_PER_SPAN);
    // a whole-word occurrence: the document holds every word of the span (not just its tokens inside longer words)
    const holders = [...new Set(docs.filter((d) => inside.every((k) => m.documents[d]!.has(words[k]!.word))).map(rep))].filter((g) => g >= 0).sort((x, y) => x - y);
    if (holders.length === 0) continue;
    for (const k of inside) covered[k] = 1;
    for (const g of holders) {
      credit.set(g, (credit.get(g) ?? 0) + weight / holders.length);
      charRanges.set(g, [...(charRanges.get(g) ?? []), chars]);
    }
    spans.push({ tokens: [a, b], chars, count: await m.spans.count(output.slice(a, b)), weight, contributions: holders.map(idOf) });
  }
  // BM25 of the groups against prompt + output (a group scores as its best member)
  const query = new Set([...promptWords, ...words.map((w) => w.word)]);
  const bm25 = new Map<number, number>();
  for (const d of corpus.lexical.candidates(query)) {
    const g = rep(d);
    const s = g < 0 ? 0 : corpus.lexical.bm25(d, query);
    if (s > (bm25.get(g) ?? 0)) bm25.set(g, s);
  }
  const scores = new Map<Hex, number>();
  if (credit.size > 0) for (const [g, v] of credit) scores.set(idOf(g), v * (bm25.get(g) ?? 0));
  else for (const [g, v] of [...bm25].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, BM25_GROUPS)) scores.set(idOf(g), v);
  for (const [id, v] of scores) if (!(v > 0)) scores.delete(id);
  return { scores, charRanges, covered, spans };
}
