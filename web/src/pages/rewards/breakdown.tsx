import { Link } from 'react-router';
import { open } from '../../api.ts';
import { Empty } from '../../components/states.tsx';
import { roleName, type BreakdownRow } from './types.ts';

/** Earnings by role, model and datanet (every epoch not reverted), with a total per role. */
export function RewardsBreakdown({ rows }: { rows: BreakdownRow[] }) {
  if (rows.length === 0) return <div data-testid="rewards-breakdown"><Empty>No earnings yet: they appear once an epoch that credits you is posted.</Empty></div>;
  const byRole = new Map<string, bigint>();
  for (const r of rows) byRole.set(r.role, (byRole.get(r.role) ?? 0n) + BigInt(r.amount));
  return (
    <div data-testid="rewards-breakdown">
      <p className="row">{[...byRole].map(([role, amount]) => <span key={role} className="stat">{roleName(role)}: <b>{open(amount)}</b></span>)}</p>
      <table>
        <thead><tr><th>Role</th><th>Model</th><th>Datanet</th><th>Amount</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.role}|${r.modelName}|${r.datanetId}`}>
              <td>{roleName(r.role)}</td>
              <td>{r.modelName ? <Link to={`/playground?model=${encodeURIComponent(r.modelName)}`}>{r.modelName}</Link> : '—'}</td>
              <td>{r.datanetId ? <Link to={`/datanets/${r.datanetId}`}>datanet {r.datanetId}</Link> : '—'}</td>
              <td>{open(r.amount)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
