import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useAccount } from '../../account.tsx';
import { call, routes } from '../../api.ts';
import { Empty, Query, Short } from '../../components/states.tsx';
import { when } from './format.ts';
import { useBaseModels } from './queries.ts';
import { finishedStatuses, type JobStatus, type TrainingJob } from './types.ts';

const statuses: JobStatus[] = ['queued', 'preparing', 'training', 'publishing', 'succeeded', 'failed', 'cancelled'];

/** A job's status in words, coloured by outcome. */
export function StatusText({ job, testid }: { job: Pick<TrainingJob, 'status' | 'cancelRequested'>; testid?: string }) {
  const cls = job.status === 'succeeded' ? 'ok' : job.status === 'failed' ? 'error' : '';
  return (
    <>
      <b className={cls} {...(testid ? { 'data-testid': testid } : {})}>{job.status}</b>
      {job.cancelRequested && !finishedStatuses.has(job.status) && <small> (stopping)</small>}
    </>
  );
}

/** The node's fine-tuning jobs, newest first, each linking to its page; refreshes while any runs. */
export function JobList() {
  const { signer } = useAccount();
  const [mine, setMine] = useState(false);
  const [status, setStatus] = useState<JobStatus | ''>('');
  const owner = mine && signer ? signer.address : undefined;
  const jobs = useQuery({
    queryKey: ['factory-jobs', owner ?? 'all', status],
    queryFn: () => call(routes.listTrainingJobs, { query: { limit: 100, ...(owner ? { owner } : {}), ...(status ? { status } : {}) } }).then((r) => r.jobs),
    refetchInterval: (q) => (q.state.data?.some((j) => !finishedStatuses.has(j.status)) ? 3000 : false),
  });
  const bases = useBaseModels();
  const baseName = (id: string) => bases.data?.find((b) => b.id === id)?.name;

  return (
    <>
      <div className="row" style={{ marginBottom: '.75rem' }}>
        {signer && <label><input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> only mine</label>}
        <label>status{' '}
          <select value={status} onChange={(e) => setStatus(e.target.value as JobStatus | '')} aria-label="filter by status">
            <option value="">any</option>
            {statuses.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
      </div>
      <Query q={jobs} what="Loading jobs">
        {(list) => list.length === 0 ? (
          <Empty>{mine || status ? 'No job matches these filters.' : 'No fine-tuning job yet: start one with the form above.'}</Empty>
        ) : (
          <table data-testid="jobs-list">
            <thead><tr><th>Model</th><th>Status</th><th>Progress</th><th>Base</th><th>Snapshots</th><th>Owner</th><th>Created</th><th>Result</th></tr></thead>
            <tbody>
              {list.map((j) => (
                <tr key={j.id} data-testid={`job-row-${j.id}`}>
                  <td><Link to={`/factory/jobs/${j.id}`} data-testid={`job-link-${j.modelName}`}>{j.modelName}</Link></td>
                  <td><StatusText job={j} /></td>
                  <td>{j.totalSteps ? `step ${j.step} / ${j.totalSteps}` : '—'}</td>
                  <td>{baseName(j.baseModelId) ?? <Short value={j.baseModelId} />}</td>
                  <td>{j.snapshotIds.map((s) => `#${s}`).join(', ')}</td>
                  <td><Short value={j.owner} chars={4} /></td>
                  <td>{when(j.createdAt)}</td>
                  <td>{j.modelId ? `model #${j.modelId}` : j.error ? <span className="error" title={j.error}>{j.error.length > 60 ? `${j.error.slice(0, 60)}…` : j.error}</span> : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Query>
    </>
  );
}
