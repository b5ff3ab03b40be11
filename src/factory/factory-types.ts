import type { Address, Hex } from 'viem';
import type { ModelConfig } from '../model/config.ts';
import type { Hyperparameters, ResolvedHyperparameters } from './hyperparameters.ts';
import type { PromptTemplate } from './template.ts';

// The shapes of the ModelFactory: its jobs, their progress and evaluation, and its base models, as
// the node stores them and the API sends them (`/factory/...`). Browser-safe (types only, and type
// imports only of files without node imports) so the web app reads the same definitions the node
// writes; over the API a bigint is a decimal string (src/util/json-shape.ts `Json`).

export type JobStatus = 'queued' | 'preparing' | 'training' | 'publishing' | 'succeeded' | 'failed' | 'cancelled';

/**
 * A progress report, sent after every optimizer step (and while the adapter is evaluated and its
 * trace recorded); a job carries its latest (`progress`).
 */
export interface TrainingProgress {
  /**
   * What the job is doing: training steps, then evaluating answers, then recording the attribution
   * trace. A run reports those last two with `step` of `totalSteps` counting within the phase; a
   * job keeps its last training report and adds `phaseDone` of `phaseTotal`.
   */
  phase?: 'training' | 'evaluating' | 'tracing';
  phaseDone?: number;
  phaseTotal?: number;
  step: number;
  totalSteps: number;
  epoch: number;
  /** Epochs the job runs at most (its `'auto'` epochs resolved). */
  epochs?: number;
  /** Held-out loss at the last epoch end, and the best epoch so far (early stopping). */
  heldOutLoss?: number;
  bestEpoch?: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerSecond: number;
  /** Seconds left at the current speed. */
  etaSeconds: number;
}

/** How many answers were checked, how many were exactly the record's response, and how much of the response's words they held. */
export interface AnswerAccuracy {
  checked: number;
  exact: number;
  /** exact / checked (NaN, sent as null, when none was checked). */
  rate: number;
  /** Mean share of the response's words found in the answer (NaN, sent as null, when none was checked). */
  wordRecall: number;
}

/** A fine-tuned adapter's evaluation (`evaluation.json`, the job's `evaluation`). */
export interface Evaluation {
  /** Held-out examples and their response tokens: held-out loss of the base model and of the fine-tuned one (mean over response tokens). */
  examples: number;
  tokens: number;
  base: { loss: number; perplexity: number };
  tuned: { loss: number; perplexity: number };
  /** The fine-tuned model's greedy answers: to held-out records' prompts (never trained on) and to training records' (what it was taught). */
  answers?: { heldOut: AnswerAccuracy; trained: AnswerAccuracy };
  /** The values the job trained with (its `'auto'` ones resolved from the training set). */
  hyperparameters?: ResolvedHyperparameters;
  /** When the held-out loss was watched: the epoch whose adapter is kept (1-based, the lowest held-out loss), how many epochs ran, and whether it stopped early. */
  earlyStopping?: { bestEpoch: number; epochsRun: number; stopped: boolean };
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
