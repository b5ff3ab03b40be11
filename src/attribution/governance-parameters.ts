import type { ProtocolContracts } from '../chain/protocol.ts';
import { latestEventArgs } from '../store/chain-events.ts';
import type { Queryable } from '../store/database.ts';
import type { FeeSplit } from './receipt-types.ts';

/** The attribution parameters governance sets on the AttributionSettlement contract. */
export interface GovernanceParameters {
  spanWeightBps: number;
  thresholdPpm: number;
  evidenceThresholdPpm: number;
}

/** The events that set them (each emitted by the constructor too, so every value has one). */
const EVENTS = ['FeeSplitSet', 'AttributionThresholdSet', 'SpanWeightSet', 'EvidenceThresholdSet'];

/**
 * The governance parameters in force, with the fee split: from the node's projection of the
 * AttributionSettlement's events (one query, no RPC call per paid request), or read from the
 * contract when there is no store or it has not indexed the contract's deployment yet.
 *
 * @example
 * const { feeSplit, thresholdPpm } = await governanceParameters({ contracts, chainId, db });
 */
export async function governanceParameters(node: { contracts: ProtocolContracts; chainId: number; db?: Queryable }): Promise<GovernanceParameters & { feeSplit: FeeSplit }> {
  if (node.db) {
    const e = await latestEventArgs(node.db, node.chainId, 'attributionSettlement', EVENTS);
    const [split, threshold, weight, evidence] = EVENTS.map((name) => e[name]);
    if (split && threshold && weight && evidence) {
      return {
        spanWeightBps: Number(weight.spanWeightBps),
        thresholdPpm: Number(threshold.thresholdPpm),
        evidenceThresholdPpm: Number(evidence.thresholdPpm),
        feeSplit: { modelOwnerBps: Number(split.modelOwnerBps), datanetOwnersBps: Number(split.datanetOwnersBps), contributorsBps: Number(split.contributorsBps), stakersBps: Number(split.stakersBps) },
      };
    }
  }
  const s = node.contracts.attributionSettlement.read;
  const [spanWeightBps, thresholdPpm, evidenceThresholdPpm, [modelOwnerBps, datanetOwnersBps, contributorsBps, stakersBps]] = await Promise.all([
    s.spanWeightBps(), s.attributionThresholdPpm(), s.evidenceThresholdPpm(), s.feeSplit(),
  ]);
  return { spanWeightBps: Number(spanWeightBps), thresholdPpm: Number(thresholdPpm), evidenceThresholdPpm: Number(evidenceThresholdPpm), feeSplit: { modelOwnerBps, datanetOwnersBps, contributorsBps, stakersBps } };
}
