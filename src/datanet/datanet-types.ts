import type { Address, Hex } from 'viem';

// The shapes of datanets, their contributions, snapshots and uploads, as the node stores them and
// the API sends them (`/datanets/...`, `/contributions/...`, `/snapshots/...`, `/uploads/...`).
// Browser-safe (types only, no imports but viem's types) so the web app reads the same definitions
// the node writes; over the API a bigint is a decimal string (src/util/json-shape.ts `Json`).

/** Rules a datanet owner sets, checked on every record after its schema (parsed by definition.ts `ruleSchema`). */
export interface DatanetRules {
  /** Fewest characters of text in a record. */
  minChars?: number;
  /** Most characters of text in a record. */
  maxChars?: number;
  /** Most bytes of a record's canonical form (default 64 KiB, at most 1 MiB). */
  maxBytes?: number;
  /** Regular expressions (case-insensitive) that no record may match. */
  forbiddenPatterns?: string[];
}

/** A datanet as the node keeps it (`GET /datanets/:id`). */
export interface Datanet {
  /** The DatanetRegistry id (null only while its registration is in flight). */
  id: number | null;
  /** The node-local key, set before the datanet is registered. */
  key: number;
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
  /** The chain head recorded before the registration was sent: where a restart looks for its event (src/chain/send-once.ts). */
  sentFromBlock: bigint | null;
  createdAt: string;
}

/** A record as contributed: a JSON object (datanets with a schema) or a piece of text. */
export type ContributionRecord = Record<string, unknown> | string;

export type ContributionStatus = 'pending' | 'accepted' | 'rejected';

/** A stored contribution (`GET /contributions/:id`, `GET /datanets/:id/contributions`). */
export interface Contribution {
  id: Hex;
  datanetId: number;
  contributor: Address;
  contentHash: Hex;
  record: ContributionRecord;
  size: number;
  status: ContributionStatus;
  /** Why a curator rejected it, and whether as spam. */
  reason: string | null;
  spam: boolean;
  uploadId: string | null;
  /** The contributor's signed consent it was sent with (the evidence a spam slash needs), or null if sent unsigned. */
  consentId: number | null;
  recordIndex: number | null;
  /** The anchored batch it is in (node-local id), once anchored. */
  batchId: number | null;
  decidedBy: Address | null;
  createdAt: string;
}

/** A frozen set of accepted contributions, recorded on chain by its Merkle root (`GET /snapshots/:id`). */
export interface Snapshot {
  id: number;
  datanetId: number;
  root: Hex;
  count: number;
  /** Blob with the sorted list of contribution ids. */
  listURI: string;
  status: 'building' | 'recorded';
  /** Index in the DatanetRegistry, once recorded. */
  snapshotIndex: number | null;
  txHash: Hex | null;
  requestedBy: Address;
  createdAt: string;
}

/** Why a record was rejected, as a machine-readable code. */
export type RejectionReason =
  // from intake (the file's bytes)
  | 'malformed_json' | 'malformed_csv' | 'malformed_parquet' | 'not_an_object' | 'invalid_utf8' | 'binary' | 'line_too_long'
  | 'file_too_large' | 'unsupported_format'
  // from validation
  | 'empty' | 'too_large' | 'too_short' | 'too_long' | 'schema_mismatch' | 'forbidden_pattern'
  | 'duplicate' | 'near_duplicate' | 'insufficient_stake' | 'previously_rejected';

/** What became of one record (`GET /uploads/:id/records`; `results` of `POST /datanets/:id/contributions`). */
export type IngestResult =
  | { index: number; status: 'accepted' | 'pending'; id: Hex }
  | { index: number; status: 'rejected'; reason: RejectionReason | string; detail: string; duplicateOf?: Hex };

/** Counts of an ingestion. */
export interface IngestSummary {
  records: number;
  accepted: number;
  pending: number;
  rejected: number;
}

/** A file contributed to a datanet, and what became of its records (`GET /uploads/:id`). */
export interface Upload extends IngestSummary {
  id: string;
  datanetId: number;
  contributor: Address;
  filename: string | null;
  format: string | null;
  blobHash: Hex;
  bytes: number;
  /** The contributor's signed consent to the file's records, or null if sent unsigned. */
  consentId: number | null;
  status: 'received' | 'processing' | 'done' | 'failed';
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** The answer to `POST /datanets/:id/uploads`: the processed upload and its rejected records (the first 1,000). */
export interface UploadResponse {
  upload: Upload;
  rejections: IngestResult[];
}
