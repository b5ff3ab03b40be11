import type { RouteOutput, routes } from '../../api.ts';
import type { JobStatus } from '../../../../src/factory/factory-types.ts';

export type { BaseModel, JobStatus, ProgressPoint } from '../../../../src/factory/factory-types.ts';

/** A fine-tuning job as the API sends it (`GET /factory/jobs/:id`, the API's contract). */
export type TrainingJob = RouteOutput<typeof routes.getTrainingJob>;
/** A job's evaluation as sent: a rate is null where nothing was checked. */
export type Evaluation = NonNullable<TrainingJob['evaluation']>;

/** Statuses after which a job never changes again. */
export const finishedStatuses: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'cancelled']);
