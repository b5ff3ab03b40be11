import type { Hex } from 'viem';

/** A piece of an answer: plain text, or text inside one or more attributed spans (`spans` are their indexes). */
export interface Segment {
  text: string;
  start: number;
  end: number;
  spans: number[];
  contributions: Hex[];
}

/**
 * Cuts `text` at every boundary of the attributed `spans` (character ranges [start, end), possibly
 * overlapping), so that each piece is either plain or covered by a known set of spans and their
 * contributions.
 *
 * @example
 * segments('the cat sat', [{ start: 4, end: 7, contributions: ['0xab…'] }]);
 * // [{ text: 'the ', spans: [] }, { text: 'cat', spans: [0], … }, { text: ' sat', spans: [] }]
 */
export function segments(text: string, spans: ReadonlyArray<{ start: number; end: number; contributions: readonly Hex[] }>): Segment[] {
  const clip = (n: number) => Math.max(0, Math.min(text.length, n));
  const cuts = new Set<number>([0, text.length]);
  for (const s of spans) {
    cuts.add(clip(s.start));
    cuts.add(clip(s.end));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i]!, end = points[i + 1]!;
    if (start === end) continue;
    const covering = spans.flatMap((s, j) => (clip(s.start) <= start && clip(s.end) >= end ? [j] : []));
    const contributions = [...new Set(covering.flatMap((j) => spans[j]!.contributions))];
    const prev = out.at(-1);
    // adjacent pieces under the same spans stay one piece
    if (prev && prev.spans.join() === covering.join()) {
      prev.text += text.slice(start, end);
      prev.end = end;
    } else {
      out.push({ text: text.slice(start, end), start, end, spans: covering, contributions });
    }
  }
  return out;
}
