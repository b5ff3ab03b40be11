import type { Address } from 'viem';
import type { DatanetCounts } from '../../datanet/datanet-counts.ts';

// The shapes of a datanet's stats and earnings (`GET /datanets/:id/stats`, `GET /datanets/:id/earnings`),
// browser-safe (types only) so the web app reads the same definitions the node writes: each part is
// its module's, composed here.
export type { DatanetEarnings } from '../../settlement/datanet-earnings.ts';

/** What a datanet holds and what was built on it. */
export interface DatanetStats extends DatanetCounts {
  datanetId: number;
  /** Published models whose training job used one of the datanet's snapshots, newest first. */
  models: Array<{ name: string; modelId: string | null; jobId: string; owner: Address; snapshotIds: number[]; finishedAt: string | null }>;
}
