import type { Address } from 'viem';
import type { Datanet as StoredDatanet } from '../../../../src/datanet/datanet-types.ts';
import type { Json } from '../../../../src/util/json-shape.ts';

export type { Contribution, ContributionStatus, DatanetRules, IngestResult, Snapshot, Upload, UploadResponse } from '../../../../src/datanet/datanet-types.ts';
export type { DatanetStats } from '../../../../src/api/contract/datanets.ts';
export type { DatanetEarnings } from '../../../../src/settlement/datanet-earnings.ts';

/** A datanet as the API sends it (`GET /datanets/:id`): its bigints as decimal strings. */
export type Datanet = Json<StoredDatanet>;

/** Whether `address` may curate `datanet` (its owner or a curator), as the node decides it. */
export function canCurate(datanet: Datanet, address: Address | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase();
  return datanet.owner.toLowerCase() === a || datanet.curators.some((c) => c.toLowerCase() === a);
}

/** A date and time for people. */
export function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '—';
}
