import type { Address, Hex } from 'viem';

// The JSON shapes of the datanet routes (src/api/routes/datanets.ts, datanet-stats.ts and
// src/datanet/*.ts), restated here because those modules are node-only.

/** Rules a datanet owner sets (src/datanet/definition.ts ruleSchema). */
export interface DatanetRules {
  minChars?: number;
  maxChars?: number;
  maxBytes?: number;
  forbiddenPatterns?: string[];
}

/** A datanet (`GET /datanets/:id`). */
export interface Datanet {
  /** The DatanetRegistry id (null only while its registration is in flight). */
  id: number | null;
  owner: Address;
  name: string;
  description: string;
  recordSchema: Record<string, unknown> | null;
  licence: string;
  /** OPEN wei, decimal. */
  contributionStake: string;
  curators: Address[];
  curation: 'auto' | 'manual';
  nearDuplicateThreshold: number;
  rules: DatanetRules;
  metadataURI: string;
  status: 'creating' | 'transferring' | 'active';
  createdAt: string;
}

export type ContributionStatus = 'pending' | 'accepted' | 'rejected';

/** A stored contribution (`GET /datanets/:id/contributions`). */
export interface Contribution {
  id: Hex;
  datanetId: number;
  contributor: Address;
  contentHash: Hex;
  /** An object record, or the text of a text record. */
  record: Record<string, unknown> | string;
  size: number;
  status: ContributionStatus;
  reason: string | null;
  spam: boolean;
  uploadId: string | null;
  recordIndex: number | null;
  batchId: number | null;
  decidedBy: Address | null;
  createdAt: string;
}

/** A snapshot of a datanet's accepted contributions (`GET /datanets/:id/snapshots`). */
export interface Snapshot {
  id: number;
  datanetId: number;
  root: Hex;
  count: number;
  listURI: string;
  status: 'building' | 'recorded';
  snapshotIndex: number | null;
  txHash: Hex | null;
  requestedBy: Address;
  createdAt: string;
}

/** An uploaded file and what became of its records (`GET /uploads/:id`). */
export interface Upload {
  id: string;
  datanetId: number;
  contributor: Address;
  filename: string | null;
  format: string | null;
  blobHash: Hex;
  bytes: number;
  status: 'received' | 'processing' | 'done' | 'failed';
  error: string | null;
  records: number;
  accepted: number;
  pending: number;
  rejected: number;
  createdAt: string;
  finishedAt: string | null;
}

/** What became of one record of an upload (`GET /uploads/:id/records`). */
export type RecordResult =
  | { index: number; status: 'accepted' | 'pending'; id: Hex }
  | { index: number; status: 'rejected'; reason: string; detail: string; duplicateOf?: Hex };

/** The answer to `POST /datanets/:id/uploads`. */
export interface UploadResponse {
  upload: Upload;
  rejections: RecordResult[];
}

/** `GET /datanets/:id/stats` (src/api/routes/datanet-stats.ts). */
export interface DatanetStats {
  datanetId: number;
  contributions: { accepted: number; pending: number; rejected: number; total: number };
  intakeRejections: number;
  uploads: number;
  contributors: number;
  acceptedContributors: number;
  snapshots: { total: number; recorded: number };
  models: Array<{ name: string; modelId: string | null; jobId: string; owner: Address; snapshotIds: number[]; finishedAt: string | null }>;
}

/** `GET /datanets/:id/earnings`: OPEN wei, decimal strings. */
export interface DatanetEarnings {
  datanetId: number;
  total: string;
  datanetOwner: string;
  contributors: string;
  epochs: Array<{ epoch: number; postedAt: string | null; datanetOwner: string; contributors: string }>;
  payees: Array<{ payee: Address; role: 'datanet_owner' | 'contributor'; amount: string }>;
}

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
