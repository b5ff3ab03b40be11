import type { JobStatus, TrainingJob as StoredTrainingJob } from '../../../../src/factory/factory-types.ts';
import type { Json } from '../../../../src/util/json-shape.ts';

export type { BaseModel, Evaluation, JobStatus, ProgressPoint } from '../../../../src/factory/factory-types.ts';

/** A fine-tuning job as the API sends it (`GET /factory/jobs/:id`): its bigints as decimal strings. */
export type TrainingJob = Json<StoredTrainingJob>;

/** Statuses after which a job never changes again. */
export const finishedStatuses: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);
