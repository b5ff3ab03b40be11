import { recomputeReceipt } from '../attribution/receipt-attribution.ts';
import type { ModelLoader } from '../attribution/model-loader.ts';
import type { ServedEpoch } from './verify-epoch.ts';

/**
 * An epoch audit's attribution step (`auditEpoch`'s `attribution`): recomputes a receipt's
 * attribution with its model from `models` (adapter, trace and span index, downloaded and checked
 * against their hashes) and answers each credited share that differs, in words.
 *
 * @example
 * const audit = await auditEpoch({ served, contracts, publicClient, epoch, attribution: recomputeAttributionWith(models) });
 */
export function recomputeAttributionWith(models: ModelLoader): (receipt: ServedEpoch['receipts'][number]) => Promise<string[]> {
  return async (r) => {
    const m = await models.load(r.body.model.name);
    try {
      return (await recomputeReceipt(m, r)).map((d) => `receipt ${r.id}: ${d.contributionId} has ${d.receiptPpm} ppm, recomputed ${d.recomputedPpm}`);
    } finally {
      m.release();
    }
  };
}
