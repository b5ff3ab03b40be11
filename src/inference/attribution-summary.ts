import type { AttributedSpan } from '../attribution/span-signal.ts';
import type { Receipt } from '../attribution/receipt-types.ts';

/** How many credited contributions an answer lists (the receipt has them all). */
export const TOP_CONTRIBUTIONS = 10;

/**
 * What an answer says about its attribution, at every door (`/inference`, `/v1`): the top
 * contributions with their spans, every span (character offsets in the output, for highlighting),
 * the evidence and, when it abstained, the datanets' pools.
 *
 * @example
 * const { contributions, spans } = attributionSummary(receipt, result.spans);
 */
export function attributionSummary(receipt: Receipt, spans: AttributedSpan[]) {
  return {
    contributions: receipt.body.contributions.slice(0, TOP_CONTRIBUTIONS).map(({ contributionId, datanetId, sharePpm, spans: ranges }) => ({ contributionId, datanetId, sharePpm, spans: ranges })),
    spans: spans.map((s) => ({ start: s.chars[0], end: s.chars[1], count: s.count, contributions: s.contributions })),
    evidence: receipt.body.evidence,
    pools: receipt.body.pools,
  };
}
