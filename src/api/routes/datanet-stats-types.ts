import type { Address } from 'viem';

// The shapes of a datanet's stats and earnings (`GET /datanets/:id/stats`, `GET /datanets/:id/earnings`),
// browser-safe (types only) so the web app reads the same definitions the node writes. They sit with
// their routes rather than under datanet/ because the earnings are settlement's credits.

/** What a datanet holds and what was built on it. */
export interface DatanetStats {
  datanetId: number;
  /** Stored contributions by status (curator rejections count as rejected). */
  contributions: { accepted: number; pending: number; rejected: number; total: number };
  /** Records of uploads turned away before becoming contributions (parse errors, schema, duplicates…). */
  intakeRejections: number;
  uploads: number;
  /** Distinct contributors of any stored contribution, and of accepted ones. */
  contributors: number;
  acceptedContributors: number;
  snapshots: { total: number; recorded: number };
  /** Published models whose training job used one of the datanet's snapshots, newest first. */
  models: Array<{ name: string; modelId: string | null; jobId: string; owner: Address; snapshotIds: number[]; finishedAt: string | null }>;
}

/** What settled epochs paid for a datanet: its owner's and its contributors' credits. */
export interface DatanetEarnings {
  datanetId: number;
  /** OPEN wei, decimal strings. */
  total: string;
  datanetOwner: string;
  /** The contributors' share of answers whose attribution abstained (held by the datanet's owner). */
  pool: string;
  contributors: string;
  /** Per settled epoch, oldest first. */
  epochs: Array<{ epoch: number; postedAt: string | null; datanetOwner: string; pool: string; contributors: string }>;
  /** The best-paid payees, most first (at most 50). */
  payees: Array<{ payee: Address; role: 'datanet_owner' | 'datanet_pool' | 'contributor'; amount: string }>;
}
