import type { Address, Hex } from 'viem';
import type { Hyperparameters } from '../../../../src/factory/hyperparameters.ts';
import type { PromptTemplate } from '../../../../src/factory/template.ts';

// The JSON shapes of the ModelFactory and datanet routes (src/factory/jobs.ts, base-models.ts,
// src/datanet/*.ts), restated here because those modules are node-only.

export type JobStatus = 'queued' | 'preparing' | 'training' | 'publishing' | 'succeeded' | 'failed' | 'cancelled';

/** Statuses after which a job never changes again. */
export const finishedStatuses: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** One optimizer step of a run, as the job carries it (`progress`). */
export interface TrainingProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  /** Seconds left at the current speed. */
  etaSeconds: number;
}

/** Held-out loss of the base model and of the fine-tuned one. */
export interface Evaluation {
  examples: number;
  tokens: number;
  base: { loss: number; perplexity: number };
  tuned: { loss: number; perplexity: number };
}

/** A fine-tuning job (`GET /factory/jobs/:id`). */
export interface TrainingJob {
  id: string;
  owner: Address;
  modelName: string;
  baseModelId: Hex;
  snapshotIds: number[];
  template: PromptTemplate;
  hyperparameters: Hyperparameters;
  /** OPEN wei per 1,000 tokens, decimal. */
  pricePer1kTokens: string;
  configHash: Hex;
  status: JobStatus;
  cancelRequested: boolean;
  attempts: number;
  step: number;
  totalSteps: number | null;
  progress: TrainingProgress | null;
  evaluation: Evaluation | null;
  examples: { train: number; heldOut: number; skipped: number } | null;
  adapterHash: Hex | null;
  adapterBlob: Hex | null;
  adapterConfigBlob: Hex | null;
  traceBlob: Hex | null;
  metadataBlob: Hex | null;
  modelId: string | null;
  txHash: Hex | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A point of the loss curve (`GET /factory/jobs/:id/progress`). */
export interface ProgressPoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  at: string;
}

/** A base model the node can fine-tune (`GET /factory/base-models`). */
export interface BaseModel {
  id: Hex;
  name: string;
  path: string;
  config: { numLayers: number; hiddenSize: number; vocabSize: number; maxPositions: number; numHeads: number };
  parameters: number;
  createdAt: string;
}

/** The part of a datanet the wizard shows (`GET /datanets`). */
export interface DatanetSummary {
  id: number | null;
  name: string;
  description: string;
  licence: string;
  owner: Address;
  recordSchema: Record<string, unknown> | null;
  status: 'creating' | 'transferring' | 'active';
}

/** A frozen set of accepted contributions (`GET /datanets/:id/snapshots`). */
export interface Snapshot {
  id: number;
  datanetId: number;
  root: Hex;
  count: number;
  status: 'building' | 'recorded';
  snapshotIndex: number | null;
  txHash: Hex | null;
  createdAt: string;
}

/** A contribution, as far as the template preview needs it. */
export interface Contribution {
  id: Hex;
  datanetId: number;
  contributor: Address;
  record: Record<string, unknown> | string;
}
