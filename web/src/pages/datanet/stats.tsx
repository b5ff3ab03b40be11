import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatEther } from 'viem';
import { open, call, routes } from '../../api.ts';
import { Card, Empty, ErrorBox, Loading, Short } from '../../components/states.tsx';
import { when, type DatanetEarnings, type DatanetStats } from './types.ts';

const n = (v: number) => v.toLocaleString('en');

/**
 * What a datanet holds and earned: contributions by status, contributors, uploads, snapshots, the
 * published models trained on its snapshots, and what settled epochs paid its owner and
 * contributors (per epoch, and the best-paid payees).
 */
export function StatsCard({ datanetId }: { datanetId: number }) {
  const stats = useQuery({
    queryKey: ['datanet-stats', datanetId],
    queryFn: ({ signal }) => call(routes.getDatanetStats, { params: { id: datanetId } }, { signal }),
  });
  const earnings = useQuery({
    queryKey: ['datanet-earnings', datanetId],
    queryFn: ({ signal }) => call(routes.getDatanetEarnings, { params: { id: datanetId } }, { signal }),
    refetchInterval: 30_000,
  });
  return (
    <Card title="Activity and earnings">
      <div data-testid="datanet-stats">
        {stats.isPending ? <Loading what="Loading statistics" /> : stats.isError ? <ErrorBox error={stats.error} /> : <Counts s={stats.data} earnings={earnings.data} />}
        {earnings.isError && <ErrorBox error={earnings.error} />}
        {stats.data && <Models models={stats.data.models} />}
        {earnings.data && <Earnings e={earnings.data} />}
      </div>
    </Card>
  );
}

function Counts({ s, earnings }: { s: DatanetStats; earnings: DatanetEarnings | undefined }) {
  const c = s.contributions;
  return (
    <div className="grid">
      <div className="stat" data-testid="stat-accepted"><b>{n(c.accepted)}</b>accepted contributions</div>
      <div className="stat" data-testid="stat-pending"><b>{n(c.pending)}</b>pending (awaiting a curator)</div>
      <div className="stat" data-testid="stat-rejected"><b>{n(c.rejected)}</b>rejected by curators</div>
      <div className="stat" data-testid="stat-intake-rejections"><b>{n(s.intakeRejections)}</b>records turned away at upload</div>
      <div className="stat" data-testid="stat-contributors"><b>{n(s.contributors)}</b>contributors ({n(s.acceptedContributors)} with accepted records)</div>
      <div className="stat" data-testid="stat-uploads"><b>{n(s.uploads)}</b>uploaded files</div>
      <div className="stat" data-testid="stat-snapshots"><b>{n(s.snapshots.total)}</b>snapshots ({n(s.snapshots.recorded)} recorded on chain)</div>
      <div className="stat" data-testid="stat-models"><b>{n(s.models.length)}</b>published models trained on it</div>
      <div className="stat" data-testid="stat-earnings"><b>{earnings ? open(earnings.total) : '…'}</b>paid to its owner and contributors</div>
    </div>
  );
}

function Models({ models }: { models: DatanetStats['models'] }) {
  return (
    <>
      <h3>Models trained on it</h3>
      {models.length === 0 ? <Empty>No published model was trained on this datanet's snapshots yet.</Empty> : (
        <table data-testid="datanet-models">
          <thead><tr><th>Model</th><th>Registry id</th><th>Snapshots</th><th>Owner</th><th>Published</th></tr></thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.jobId}>
                <td><Link to={`/factory/jobs/${m.jobId}`}>{m.name}</Link> · <Link to="/playground">try it</Link></td>
                <td>{m.modelId ?? '—'}</td>
                <td>{m.snapshotIds.map((id) => `#${id}`).join(', ')}</td>
                <td><Short value={m.owner} chars={4} /></td>
                <td>{when(m.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function Earnings({ e }: { e: DatanetEarnings }) {
  const data = e.epochs.map((x) => ({
    label: `epoch ${x.epoch}`,
    date: when(x.postedAt),
    owner: Number(formatEther(BigInt(x.datanetOwner))),
    pool: Number(formatEther(BigInt(x.pool))),
    contributors: Number(formatEther(BigInt(x.contributors))),
  }));
  return (
    <>
      <h3>Earnings from settled epochs</h3>
      {e.epochs.length === 0 ? <Empty>Nothing paid yet: earnings come when answers of a model trained on this datanet are attributed to its contributions and an epoch settles.</Empty> : (
        <>
          <p data-testid="datanet-earnings">
            {open(e.total)} in all: {open(e.datanetOwner)} to the datanet's owner, {open(e.contributors)} to its contributors, {open(e.pool)} to its pool (answers whose attribution abstained).
          </p>
          <ResponsiveContainer width="100%" height={260}>
            <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="label" />
              <YAxis tickFormatter={(v: number) => v.toLocaleString('en', { maximumFractionDigits: 4 })} label={{ value: 'OPEN', angle: -90, position: 'insideLeft' }} />
              <Tooltip
                formatter={(v) => `${Number(v).toLocaleString('en', { maximumFractionDigits: 6 })} OPEN`}
                labelFormatter={(label, payload) => `${String(label)} · ${String(payload?.[0]?.payload?.date ?? '')}`}
              />
              <Legend />
              <Bar dataKey="contributors" name="contributors" stackId="paid" fill="#1a7f37" />
              <Bar dataKey="owner" name="datanet owner" stackId="paid" fill="#3451b2" />
              <Bar dataKey="pool" name="datanet pool" stackId="paid" fill="#9a6700" />
            </BarChart>
          </ResponsiveContainer>
          <details>
            <summary>Best-paid payees</summary>
            <table>
              <thead><tr><th>Payee</th><th>As</th><th>Earned</th></tr></thead>
              <tbody>
                {e.payees.map((p) => (
                  <tr key={`${p.payee}-${p.role}`}><td><Short value={p.payee} /></td><td>{p.role === 'datanet_owner' ? 'owner' : p.role === 'datanet_pool' ? 'pool' : 'contributor'}</td><td>{open(p.amount)}</td></tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </>
  );
}
