import { Link } from 'react-router';
import { Card, Short } from '../../components/states.tsx';
import { fixed } from './format.ts';
import type { Evaluation, TrainingJob } from './types.ts';

const change = (base: number, tuned: number) => (base > 0 ? `${tuned <= base ? '−' : '+'}${Math.abs(((tuned - base) / base) * 100).toFixed(1)} %` : '—');

const rate = (a: { checked: number; exact: number; wordRecall: number | null } | undefined) =>
  a && a.checked > 0 ? `${((100 * a.exact) / a.checked).toFixed(1)} % (${a.exact} of ${a.checked}); ${a.wordRecall === null ? '—' : `${(100 * a.wordRecall).toFixed(1)} %`} of the answers' words` : '—';

/** Held-out loss and perplexity of the fine-tuned model beside those of its base model, its answer accuracy, and what it trained with. */
export function EvaluationTable({ evaluation }: { evaluation: Evaluation }) {
  const { base, tuned, answers, hyperparameters: hp, earlyStopping } = evaluation;
  return (
    <div data-testid="job-eval">
      <table>
        <thead><tr><th>Held out</th><th>Base model</th><th>Fine-tuned</th><th>Change</th></tr></thead>
        <tbody>
          <tr><td>Loss</td><td data-testid="job-eval-base-loss">{fixed(base.loss, 4)}</td><td data-testid="job-eval-tuned-loss">{fixed(tuned.loss, 4)}</td><td className={tuned.loss < base.loss ? 'ok' : 'error'}>{change(base.loss, tuned.loss)}</td></tr>
          <tr><td>Perplexity</td><td>{fixed(base.perplexity, 2)}</td><td>{fixed(tuned.perplexity, 2)}</td><td className={tuned.perplexity < base.perplexity ? 'ok' : 'error'}>{change(base.perplexity, tuned.perplexity)}</td></tr>
        </tbody>
      </table>
      <small className="empty">Mean over the response tokens of {evaluation.examples.toLocaleString('en')} held-out examples ({evaluation.tokens.toLocaleString('en')} tokens), which the training never saw.</small>
      {answers && (
        <table>
          <thead><tr><th>Answers exactly right, and words of the right answer found</th><th>Fine-tuned</th></tr></thead>
          <tbody>
            <tr><td>Held-out records (never trained on)</td><td data-testid="job-eval-heldout-accuracy">{rate(answers.heldOut)}</td></tr>
            <tr><td>Training records (what it was taught)</td><td data-testid="job-eval-trained-accuracy">{rate(answers.trained)}</td></tr>
          </tbody>
        </table>
      )}
      {hp && (
        <small className="empty">
          Trained with {hp.epochs} epochs at most, rank {hp.rank}, alpha {hp.alpha}, learning rate {hp.learningRate}
          {earlyStopping ? `; ${earlyStopping.stopped ? 'stopped early (the held-out loss stopped improving); ' : ''}the adapter of epoch ${earlyStopping.bestEpoch} of ${earlyStopping.epochsRun}, the lowest held-out loss, is kept` : ''}.
        </small>
      )}
    </div>
  );
}

/** What publishing produced: the ModelRegistry entry, the adapter and its files, and where to try the model. */
export function PublishedModel({ job }: { job: TrainingJob }) {
  const file = (name: string) => `/factory/jobs/${job.id}/adapter/${name}`;
  return (
    <Card title="Published">
      <table>
        <tbody>
          <tr><th>ModelRegistry id</th><td>#<span data-testid="job-model-id">{job.modelId}</span> — <b>{job.modelName}</b>, owned by <Short value={job.owner} /></td></tr>
          <tr><th>Registration tx</th><td>{job.txHash ? <Short value={job.txHash} chars={10} /> : '—'}</td></tr>
          <tr><th>Adapter hash</th><td data-testid="job-adapter-hash">{job.adapterHash ? <Short value={job.adapterHash} chars={10} /> : '—'}</td></tr>
          <tr><th>Training configuration</th><td><Short value={job.configHash} chars={10} /></td></tr>
          <tr>
            <th>Adapter files (PEFT)</th>
            <td className="row">
              <a href={file('adapter_config.json')} download="adapter_config.json" data-testid="job-adapter-config">adapter_config.json</a>
              <a href={file('adapter_model.safetensors')} download="adapter_model.safetensors" data-testid="job-adapter-weights">adapter_model.safetensors</a>
            </td>
          </tr>
        </tbody>
      </table>
      <p><Link to={`/playground?model=${encodeURIComponent(job.modelName)}`} data-testid="job-playground">Try it in the Playground →</Link></p>
    </Card>
  );
}

/** Why a job did not produce a model. */
export function JobOutcome({ job }: { job: TrainingJob }) {
  if (job.status === 'failed') {
    return (
      <Card title="Failed">
        <p className="error" role="alert" data-testid="job-error">{job.error ?? 'the job failed without a message'}</p>
        {job.attempts > 1 && <p className="empty">The node tried {job.attempts} times.</p>}
        <p>Adjust the template or the hyperparameters and <Link to="/factory">start a new job</Link> (the model name is free again).</p>
      </Card>
    );
  }
  if (job.status === 'cancelled') {
    return (
      <Card title="Cancelled">
        <p data-testid="job-error">
          Cancelled by its owner {job.step > 0 ? `after step ${job.step}${job.totalSteps ? ` of ${job.totalSteps}` : ''}` : 'before training started'}
          {job.error ? `: ${job.error}` : '.'} No model was published; the name <b>{job.modelName}</b> is free again.
        </p>
      </Card>
    );
  }
  return null;
}
