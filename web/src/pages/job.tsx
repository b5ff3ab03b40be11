import { useParams } from 'react-router';
import { Card, Empty, ErrorBox, Query } from '../components/states.tsx';
import { BackToFactory, JobConfig } from './factory/job-config.tsx';
import { EvaluationTable, JobOutcome, PublishedModel } from './factory/job-result.tsx';
import { JobStatusPanel } from './factory/job-status.tsx';
import { LossChart } from './factory/loss-chart.tsx';
import { useJobLive } from './factory/use-job-live.ts';

/**
 * One fine-tuning job, live: status, step, speed and ETA, the loss and learning-rate curve, a
 * cancel button for its owner; once it succeeded, the held-out evaluation against the base model
 * and the published model (registry id, tx, adapter files, a link to the Playground); otherwise why not.
 */
export function JobPage() {
  const { id = '' } = useParams();
  const { job, points, curveError } = useJobLive(id);
  return (
    <>
      <BackToFactory />
      <Query q={job} what="Loading the job">
        {(j) => (
          <>
            <h1>{j.modelName}</h1>
            <Card title="Status"><JobStatusPanel job={j} /></Card>
            <Card title="Loss curve">
              {points.length > 0 ? <LossChart points={points} totalSteps={j.totalSteps} /> : (
                <Empty>{j.status === 'queued' || j.status === 'preparing' ? 'The curve appears once training starts.' : 'No training step was recorded.'}</Empty>
              )}
              <ErrorBox error={curveError} />
            </Card>
            {j.evaluation && <Card title="Evaluation: fine-tuned vs base model"><EvaluationTable evaluation={j.evaluation} /></Card>}
            {j.status === 'succeeded' && <PublishedModel job={j} />}
            <JobOutcome job={j} />
            <Card title="Configuration"><JobConfig job={j} /></Card>
          </>
        )}
      </Query>
    </>
  );
}
