import { Link } from 'react-router';
import { open } from '../../api.ts';
import { Short } from '../../components/states.tsx';
import { when } from './format.ts';
import { useBaseModels } from './queries.ts';
import type { TrainingJob } from './types.ts';

const pre = { whiteSpace: 'pre-wrap', background: '#f6f8fa', padding: '.4rem .6rem', borderRadius: 6, margin: 0 } as const;

/** How a job was set up: who, base model, snapshots, template, hyperparameters, price, times. */
export function JobConfig({ job }: { job: TrainingJob }) {
  const bases = useBaseModels();
  const base = bases.data?.find((b) => b.id === job.baseModelId);
  const hp = job.hyperparameters;
  return (
    <table>
      <tbody>
        <tr><th>Job</th><td><code>{job.id}</code></td></tr>
        <tr><th>Owner</th><td><Short value={job.owner} /></td></tr>
        <tr><th>Base model</th><td>{base ? <b>{base.name}</b> : null} <Short value={job.baseModelId} /></td></tr>
        <tr><th>Snapshots</th><td>{job.snapshotIds.map((s) => `#${s}`).join(', ')}</td></tr>
        <tr><th>Template</th><td><pre style={pre}>{job.template.prompt}<strong>{job.template.response}</strong></pre></td></tr>
        <tr>
          <th>Hyperparameters</th>
          <td>
            {hp.epochs} epochs · rank {hp.rank} · alpha {hp.alpha} · learning rate {hp.learningRate} · batch {hp.batchSize} · max length {hp.maxSequenceLength} ·
            {' '}targets {hp.targetModules.join(', ')} · warm-up {hp.warmupSteps} · held out {hp.heldOutFraction} · early-stopping patience {hp.earlyStoppingPatience} · seed {hp.seed}
            {job.evaluation?.hyperparameters && (hp.epochs === 'auto' || hp.rank === 'auto' || hp.alpha === 'auto' || hp.learningRate === 'auto')
              ? ` (auto: ${job.evaluation.hyperparameters.epochs} epochs, rank ${job.evaluation.hyperparameters.rank}, alpha ${job.evaluation.hyperparameters.alpha}, learning rate ${job.evaluation.hyperparameters.learningRate})` : ''}
          </td>
        </tr>
        <tr><th>Price</th><td>{open(job.pricePer1kTokens)} per 1,000 tokens</td></tr>
        <tr><th>Created</th><td>{when(job.createdAt)}</td></tr>
        <tr><th>Started</th><td>{when(job.startedAt)}</td></tr>
        <tr><th>Finished</th><td>{when(job.finishedAt)}</td></tr>
      </tbody>
    </table>
  );
}

/** A link back to the job list. */
export function BackToFactory() {
  return <p><Link to="/factory">‹ ModelFactory</Link></p>;
}
