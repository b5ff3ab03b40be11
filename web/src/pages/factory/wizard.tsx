import { useState } from 'react';
import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { parseEther } from 'viem';
import { useAccount } from '../../account.tsx';
import { open, call, routes } from '../../api.ts';
import { ErrorBox } from '../../components/states.tsx';
import { initialDraft, validateBase, validateSettings, validateSnapshots, validateTemplate, type Draft, type Errors } from './draft.ts';
import { useBaseModels } from './queries.ts';
import { StepBase } from './step-base.tsx';
import { StepSettings } from './step-settings.tsx';
import { StepSnapshots } from './step-snapshots.tsx';
import { StepTemplate, type Samples } from './step-template.tsx';
import { finishedStatuses } from './types.ts';
import type { RouteInput } from '../../api.ts';

const steps = ['Base model', 'Snapshots', 'Template', 'Hyperparameters'] as const;
/** Sample records fetched per chosen snapshot for the template preview. */
const SAMPLES_PER_SNAPSHOT = 5;

/**
 * The four-step form that starts a fine-tuning job: base model, snapshots, template (previewed on
 * the snapshots' records), hyperparameters with name and price. Each step is validated before the
 * next; the job is submitted signed by the connected account, then its page opens.
 */
export function JobWizard() {
  const account = useAccount();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [step, setStep] = useState(0);
  const [draft, setDraft] = useState<Draft>(initialDraft);
  const [shown, setShown] = useState<boolean[]>(() => steps.map(() => false));

  const baseModels = useBaseModels();
  const sampleQueries = useQueries({
    queries: draft.snapshots.map((s) => ({
      queryKey: ['snapshot-samples', s.id, SAMPLES_PER_SNAPSHOT],
      queryFn: () => call(routes.listSnapshotContributions, { params: { id: s.id }, query: { limit: SAMPLES_PER_SNAPSHOT } }).then((r) => r.contributions),
      enabled: step >= 2,
      staleTime: Infinity,
    })),
  });
  const samples: Samples = {
    list: sampleQueries.flatMap((q) => q.data ?? []),
    loading: sampleQueries.some((q) => q.isPending),
    error: sampleQueries.find((q) => q.isError)?.error ?? null,
  };
  // names of models already published or being trained (the node checks again, and the chain too)
  const jobs = useQuery({
    queryKey: ['factory-jobs', 'names'],
    queryFn: () => call(routes.listTrainingJobs, { query: { limit: 500 } }).then((r) => r.jobs),
    enabled: step >= 3,
    staleTime: 10_000,
  });
  const taken = new Set((jobs.data ?? []).filter((j) => j.status === 'succeeded' || !finishedStatuses.has(j.status)).map((j) => j.modelName));

  const errorsOf = (s: number): Errors => {
    if (s === 0) return validateBase(draft, baseModels.data);
    if (s === 1) return validateSnapshots(draft);
    if (s === 2) return samples.loading ? { samples: 'the sample records are still loading' } : validateTemplate(draft, samples.list);
    return validateSettings(draft, taken).errors;
  };
  const errors = shown[step] ? errorsOf(step) : {};
  const show = (s: number) => setShown((v) => v.map((x, i) => x || i === s));

  const submit = useMutation({
    mutationFn: (body: RouteInput<typeof routes.createTrainingJob>['body']) => call(routes.createTrainingJob, { body }, { signer: account.signer }),
    onSuccess: (job) => {
      queryClient.setQueryData(['factory-job', job.id], job);
      void queryClient.invalidateQueries({ queryKey: ['factory-jobs'] });
      navigate(`/factory/jobs/${job.id}`);
    },
  });

  const next = () => {
    show(step);
    if (Object.keys(errorsOf(step)).length === 0) setStep(step + 1);
  };
  const start = () => {
    const invalid = steps.findIndex((_, i) => Object.keys(errorsOf(i)).length > 0);
    if (invalid !== -1) {
      show(invalid);
      setStep(invalid);
      return;
    }
    const { hyperparameters, priceWei } = validateSettings(draft, taken);
    submit.mutate({
      modelName: draft.modelName.trim(), baseModel: draft.baseModel, snapshotIds: draft.snapshots.map((s) => s.id),
      template: draft.template, hyperparameters, pricePer1kTokens: priceWei,
    });
  };
  const base = baseModels.data?.find((b) => b.name === draft.baseModel);

  return (
    <form onSubmit={(e) => { e.preventDefault(); if (step < steps.length - 1) next(); else start(); }}>
      <div className="row" role="tablist" style={{ marginBottom: '1rem' }}>
        {steps.map((name, i) => (
          <button key={name} type="button" role="tab" aria-selected={i === step} className={i === step ? '' : 'secondary'} disabled={i > step} onClick={() => setStep(i)}>
            {i + 1}. {name}
          </button>
        ))}
      </div>

      {step === 0 && <StepBase baseModels={baseModels} value={draft.baseModel} onChange={(baseModel) => setDraft({ ...draft, baseModel })} error={errors.baseModel} />}
      {step === 1 && <StepSnapshots value={draft.snapshots} onChange={(snapshots) => setDraft({ ...draft, snapshots })} error={errors.snapshots} />}
      {step === 2 && <StepTemplate value={draft.template} onChange={(template) => setDraft({ ...draft, template })} samples={samples} errors={errors} />}
      {step === 2 && errors.samples && <p className="error">{errors.samples}</p>}
      {step === 3 && (
        <>
          <StepSettings draft={draft} onChange={setDraft} errors={errors} base={base} />
          <Summary draft={draft} />
        </>
      )}

      <div className="row" style={{ marginTop: '1rem' }}>
        {step > 0 && <button type="button" className="secondary" onClick={() => setStep(step - 1)}>‹ Back</button>}
        {step < steps.length - 1 ? (
          <button type="submit" data-testid="wizard-next">Next ›</button>
        ) : (
          <button type="submit" data-testid="wizard-submit" disabled={!account.signer || submit.isPending}>{submit.isPending ? 'Starting…' : 'Start fine-tuning'}</button>
        )}
        {step === steps.length - 1 && !account.signer && <span className="error">The job is signed by your account: <Link to="/">connect one</Link> first.</span>}
        {Object.keys(errors).length > 0 && <span className="error">Fix the fields above to continue.</span>}
      </div>
      <ErrorBox error={submit.error} />
    </form>
  );
}

function Summary({ draft }: { draft: Draft }) {
  const price = /^\d+(\.\d{1,18})?$/.test(draft.price.trim()) ? open(parseEther(draft.price.trim())) : null;
  return (
    <p className="empty">
      Trains <b>{draft.modelName.trim() || 'your model'}</b> on <b>{draft.baseModel}</b> with snapshot{draft.snapshots.length === 1 ? '' : 's'}{' '}
      {draft.snapshots.map((s) => `#${s.id}`).join(', ')} ({draft.snapshots.reduce((n, s) => n + s.count, 0).toLocaleString('en')} records)
      {price !== null && <>, priced at {price} per 1,000 tokens</>}. When it succeeds it is published in the ModelRegistry and handed to your account.
    </p>
  );
}
