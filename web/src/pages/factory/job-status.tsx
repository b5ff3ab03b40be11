import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useAccount } from '../../account.tsx';
import { call, routes } from '../../api.ts';
import { ErrorBox } from '../../components/states.tsx';
import { duration, fixed } from './format.ts';
import { StatusText } from './job-list.tsx';
import type { TrainingJob } from './types.ts';

const stage: Record<TrainingJob['status'], string> = {
  queued: 'Waiting for the ModelFactory worker (it runs one job at a time).',
  preparing: "Rendering the snapshots' records with the template and tokenising them.",
  training: 'Training the LoRA adapter; the base weights stay frozen. Then its answers are evaluated and its attribution trace recorded.',
  publishing: 'Training is done: storing the adapter and its attribution trace, and registering the model on chain.',
  succeeded: 'Trained, evaluated and published.',
  failed: 'The job failed.',
  cancelled: 'The job was cancelled.',
};

/** A job's live status: stage, step of total, loss, speed and ETA, and a cancel button for its owner. */
export function JobStatusPanel({ job }: { job: TrainingJob }) {
  const p = job.progress;
  const training = job.status === 'training';
  const elapsed = job.startedAt ? ((job.finishedAt ? Date.parse(job.finishedAt) : Date.now()) - Date.parse(job.startedAt)) / 1000 : null;
  return (
    <>
      <p>
        Status: <StatusText job={job} testid="job-status" /> — {job.cancelRequested && training ? 'Stopping after the current step (a checkpoint is written first).' : stage[job.status]}
        {training && p?.phase === 'evaluating' && ` Evaluating its answers: ${p.phaseDone} of ${p.phaseTotal}.`}
        {training && p?.phase === 'tracing' && ` Recording the attribution trace: ${p.phaseDone} of ${p.phaseTotal} examples.`}
      </p>
      {job.totalSteps !== null && <progress value={job.step} max={job.totalSteps} style={{ width: '100%' }} aria-label="training progress" />}
      <div className="grid">
        <div className="stat">Step<b data-testid="job-step">{job.step} / {job.totalSteps ?? '?'}</b></div>
        <div className="stat">Epoch<b>{p ? `${p.epoch + 1} / ${p.epochs ?? job.hyperparameters.epochs}` : '—'}</b></div>
        {p?.heldOutLoss !== undefined && <div className="stat">Held-out loss<b>{fixed(p.heldOutLoss, 4)}</b></div>}
        <div className="stat">Loss<b>{fixed(p?.loss, 4)}</b></div>
        <div className="stat">Tokens/s<b data-testid="job-speed">{p ? Math.round(p.tokensPerSecond).toLocaleString('en') : '—'}</b></div>
        <div className="stat">ETA<b data-testid="job-eta">{training && p ? duration(p.etaSeconds) : job.status === 'succeeded' ? 'done' : '—'}</b></div>
        <div className="stat">Elapsed<b>{elapsed === null ? '—' : duration(elapsed)}</b></div>
      </div>
      {job.examples && (
        <p className="empty">
          {job.examples.train.toLocaleString('en')} training examples, {job.examples.heldOut.toLocaleString('en')} held out for evaluation
          {job.examples.skipped > 0 ? `, ${job.examples.skipped.toLocaleString('en')} skipped (a field missing or too long)` : ''}.
        </p>
      )}
      <CancelJob job={job} />
    </>
  );
}

function CancelJob({ job }: { job: TrainingJob }) {
  const { signer } = useAccount();
  const queryClient = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => call(routes.cancelTrainingJob, { params: { id: job.id } }, { signer }),
    onSuccess: (updated) => {
      queryClient.setQueryData(['factory-job', job.id], updated);
      void queryClient.invalidateQueries({ queryKey: ['factory-jobs'] });
    },
  });
  const cancellable = job.status === 'queued' || job.status === 'preparing' || job.status === 'training';
  const isOwner = signer !== null && signer.address.toLowerCase() === job.owner.toLowerCase();
  if (!cancellable || !isOwner) return null;
  return (
    <div className="row">
      <button type="button" className="secondary" data-testid="job-cancel" disabled={cancel.isPending || job.cancelRequested} onClick={() => cancel.mutate()}>
        {job.cancelRequested ? 'Cancelling…' : cancel.isPending ? 'Cancelling…' : 'Cancel job'}
      </button>
      <ErrorBox error={cancel.error} />
    </div>
  );
}
