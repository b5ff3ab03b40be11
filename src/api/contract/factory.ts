import { z } from 'zod';
import type { BaseModel, Evaluation, ProgressPoint, TrainingJob, TrainingProgress } from '../../factory/factory-types.ts';
import { hyperparametersSchema } from '../../factory/hyperparameters.ts';
import { jobRequestSchema } from '../../factory/job-request.ts';
import type { PublishedModel } from '../../factory/published-models.ts';
import { architectures, loraTargets, type ModelConfig } from '../../model/config.ts';
import type { Json } from '../../util/json-shape.ts';
import { address, addressInput, agree, finite, hex, limitInput, time, wei, PG_INTEGER_MAX, type Agrees } from './common.ts';
import { defineRoute } from './route.ts';

// The ModelFactory: base models, fine-tuning jobs, their loss curves and progress streams, the
// published adapters; and the published models anyone may call.

const jobStatus = z.enum(['queued', 'preparing', 'training', 'publishing', 'succeeded', 'failed', 'cancelled']);
const jobId = z.object({ id: z.uuid('must be a job id') });

export const modelConfig = z.object({
  vocabSize: z.number().int(), hiddenSize: z.number().int(), intermediateSize: z.number().int(), numLayers: z.number().int(),
  numHeads: z.number().int(), numKvHeads: z.number().int(), headDim: z.number().int(), rmsNormEps: z.number(), ropeTheta: z.number(),
  maxPositions: z.number().int(), tieEmbeddings: z.boolean(), attentionBias: z.boolean(), bosTokenId: z.number().int().optional(), eosTokenId: z.number().int().optional(),
  // the architecture's differences from Llama (config.ts); rope scaling is left out of the API
  architecture: z.enum(architectures).optional(), rotaryDim: z.number().int().optional(), noRopeLayers: z.array(z.number().int()).optional(),
  qkNorm: z.boolean().optional(), layerAttention: z.array(z.enum(['full', 'sliding'])).optional(), slidingWindow: z.number().int().optional(),
  localRopeTheta: z.number().optional(), queryScale: z.number().optional(), activation: z.enum(['silu', 'gelu_tanh']).optional(),
  scaleEmbeddings: z.boolean().optional(), outputNorms: z.boolean().optional(),
});
agree<Agrees<typeof modelConfig, ModelConfig>>();

export const baseModel = z.object({ id: hex, name: z.string(), path: z.string(), config: modelConfig, parameters: z.number().int(), createdAt: time });
agree<Agrees<typeof baseModel, BaseModel>>();

export const trainingProgress = z.object({
  phase: z.enum(['training', 'evaluating', 'tracing']).optional(), phaseDone: z.number().optional(), phaseTotal: z.number().optional(),
  step: z.number().int(), totalSteps: z.number().int(), epoch: z.number(), epochs: z.number().int().optional(),
  heldOutLoss: z.number().optional(), bestEpoch: z.number().int().optional(),
  loss: z.number(), lr: z.number(), gradNorm: z.number(), tokens: z.number(), tokensPerSecond: z.number(), etaSeconds: z.number(),
});
agree<Agrees<typeof trainingProgress, TrainingProgress>>();

/** Answer accuracy: `rate` and `wordRecall` are NaN when nothing was checked, which JSON sends as null. */
const answerAccuracy = z.object({ checked: z.number().int(), exact: z.number().int(), rate: finite, wordRecall: finite });
const resolvedHyperparameters = hyperparametersSchema.extend({
  rank: z.number().int(), alpha: z.number(), epochs: z.number().int(), learningRate: z.number(), targetModules: z.array(z.enum(loraTargets)),
});
export const evaluation = z.object({
  examples: z.number().int(), tokens: z.number().int(),
  base: z.object({ loss: z.number(), perplexity: z.number() }), tuned: z.object({ loss: z.number(), perplexity: z.number() }),
  answers: z.object({ heldOut: answerAccuracy, trained: answerAccuracy }).optional(),
  hyperparameters: resolvedHyperparameters.optional(),
  earlyStopping: z.object({ bestEpoch: z.number().int(), epochsRun: z.number().int(), stopped: z.boolean() }).optional(),
});
agree<Agrees<typeof evaluation.shape.hyperparameters, Evaluation['hyperparameters']>>();

export const trainingJob = z.object({
  id: z.string(), owner: address, modelName: z.string(), baseModelId: hex, snapshotIds: z.array(z.number().int()),
  template: z.object({ prompt: z.string(), response: z.string() }),
  hyperparameters: hyperparametersSchema,
  pricePer1kTokens: wei, configHash: hex, status: jobStatus, cancelRequested: z.boolean(), attempts: z.number().int(),
  step: z.number().int(), totalSteps: z.number().int().nullable(), progress: trainingProgress.nullable(), evaluation: evaluation.nullable(),
  examples: z.object({ train: z.number().int(), heldOut: z.number().int(), skipped: z.number().int() }).nullable(),
  adapterHash: hex.nullable(), adapterBlob: hex.nullable(), adapterConfigBlob: hex.nullable(), traceBlob: hex.nullable(), metadataBlob: hex.nullable(),
  modelId: z.string().nullable(), txHash: hex.nullable(), sentFromBlock: wei.nullable(), error: z.string().nullable(),
  createdAt: time, startedAt: time.nullable(), finishedAt: time.nullable(),
});
agree<Agrees<ReturnType<typeof trainingJob.omit<{ evaluation: true }>>, Omit<Json<TrainingJob>, 'evaluation'>>>();

export const progressPoint = z.object({ step: z.number().int(), loss: z.number(), lr: z.number(), gradNorm: z.number(), tokens: z.number(), tokensPerSecond: z.number(), at: time });
agree<Agrees<typeof progressPoint, ProgressPoint>>();

export const publishedModel = z.object({
  name: z.string(), modelId: z.string(), owner: address, jobId: z.string().nullable(), baseModelId: hex, adapterHash: hex, adapterConfigBlob: hex, traceBlob: hex, pricePer1kTokens: wei,
});
agree<Agrees<typeof publishedModel, PublishedModel>>();

export const listBaseModels = defineRoute({ id: 'listBaseModels', method: 'GET', path: '/factory/base-models', tag: 'factory', auth: 'none', summary: 'Base models the node can fine-tune', response: z.object({ baseModels: z.array(baseModel) }) });
export const getBaseModel = defineRoute({
  id: 'getBaseModel', method: 'GET', path: '/factory/base-models/:name', tag: 'factory', auth: 'none', summary: 'A base model, by name or content hash',
  params: z.object({ name: z.string().max(100) }), response: baseModel,
});
export const addBaseModel = defineRoute({
  id: 'addBaseModel', method: 'POST', path: '/factory/base-models', tag: 'factory', auth: 'signed', status: 201,
  summary: "Add a model folder on the node's disk as a base model (the node's own account only)",
  body: z.object({ name: z.string().min(1).max(64), path: z.string().min(1).max(4096) }).strict(), response: baseModel,
});
export const createTrainingJob = defineRoute({
  id: 'createTrainingJob', method: 'POST', path: '/factory/jobs', tag: 'factory', auth: 'signed', status: 201,
  summary: 'Start fine-tuning a LoRA adapter on datanet snapshots (the signer owns the model)', body: jobRequestSchema, response: trainingJob,
});
export const listTrainingJobs = defineRoute({
  id: 'listTrainingJobs', method: 'GET', path: '/factory/jobs', tag: 'factory', auth: 'none', summary: 'Fine-tuning jobs, newest first',
  query: z.object({ owner: addressInput.optional(), status: jobStatus.optional(), limit: limitInput() }), response: z.object({ jobs: z.array(trainingJob) }),
});
export const getTrainingJob = defineRoute({ id: 'getTrainingJob', method: 'GET', path: '/factory/jobs/:id', tag: 'factory', auth: 'none', summary: 'A fine-tuning job', params: jobId, response: trainingJob });
export const getTrainingProgress = defineRoute({
  id: 'getTrainingProgress', method: 'GET', path: '/factory/jobs/:id/progress', tag: 'factory', auth: 'none', summary: "A job's loss curve, one point per optimizer step after `after`",
  params: jobId, query: z.object({ after: z.coerce.number().int().min(0).max(PG_INTEGER_MAX).default(0) }), response: z.object({ points: z.array(progressPoint) }),
});
export const getTrainingAdapterFile = defineRoute({
  id: 'getTrainingAdapterFile', method: 'GET', path: '/factory/jobs/:id/adapter/:file', tag: 'factory', auth: 'none', summary: "A published job's PEFT adapter files",
  params: jobId.extend({ file: z.enum(['adapter_config.json', 'adapter_model.safetensors']) }), produces: 'application/octet-stream',
});
export const cancelTrainingJob = defineRoute({ id: 'cancelTrainingJob', method: 'POST', path: '/factory/jobs/:id/cancel', tag: 'factory', auth: 'signed', summary: 'Cancel a job (its owner)', params: jobId, response: trainingJob });
export const trainingJobEvents = defineRoute({
  id: 'trainingJobEvents', method: 'GET', path: '/factory/jobs/:id/events', tag: 'factory', auth: 'none', produces: 'text/event-stream',
  summary: "A job's progress as server-sent events: `job` when it changes, `progress` per step, then `end`", params: jobId,
});
export const listModels = defineRoute({ id: 'listModels', method: 'GET', path: '/models', tag: 'models', auth: 'none', summary: 'Published models, as the ModelRegistry has them', response: z.object({ models: z.array(publishedModel) }) });
export const getModel = defineRoute({ id: 'getModel', method: 'GET', path: '/models/:name', tag: 'models', auth: 'none', summary: 'A published model', params: z.object({ name: z.string().max(64) }), response: publishedModel });
