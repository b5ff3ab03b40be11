import type { Address, Hex } from 'viem';
import type { ModelConfig } from '../model/config.ts';
import type { Hyperparameters } from './hyperparameters.ts';
import type { PromptTemplate } from './template.ts';

// The shapes of the ModelFactory: its jobs, their progress and evaluation, and its base models, as
// the node stores them and the API sends them (`/factory/...`). Browser-safe (types only, and type
// imports only of files without node imports) so the web app reads the same definitions the node
// writes; over the API a bigint is a decimal string (src/util/json-shape.ts `Json`).

export type JobStatus = 'queued' | 'preparing' | 'training' | 'publishing' | 'succeeded' | 'failed' | 'cancelled';

/** A progress report, sent after every optimizer step; a job carries its latest (`progress`). */
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

/** Held-out loss of the base model and of the fine-tuned one (mean over response tokens). */
export interface Evaluation {
  examples: number;
  tokens: number;
  base: { loss: number; perplexity: number };
  tuned: { loss: number; perplexity: number };
}

/** A fine-tuning job, as stored (`GET /factory/jobs/:id`). */
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
  /** The chain head recorded before the model's registration was sent: where a restart looks for its event (src/chain/send-once.ts). */
  sentFromBlock: bigint | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** A point of a job's loss curve, one per optimizer step (`GET /factory/jobs/:id/progress`). */
export interface ProgressPoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  at: string;
}

/** A base model the node can fine-tune: a model folder on its disk, known by name and content hash (`GET /factory/base-models`). */
export interface BaseModel {
  id: Hex;
  name: string;
  path: string;
  config: ModelConfig;
  parameters: number;
  createdAt: string;
}
