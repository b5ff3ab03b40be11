import { useQuery } from '@tanstack/react-query';
import { call, open, routes } from '../../api.ts';
import { Card, Empty, Query, Short } from '../../components/states.tsx';

/**
 * What this node's watchtower checked: the epochs other operators posted, recomputed from the
 * inputs each serves, and whether they checked out or were disputed (`GET /settlement/watched`).
 */
export function WatchedEpochs() {
  const q = useQuery({ queryKey: ['settlement-watched'], queryFn: () => call(routes.listWatchedEpochs, { query: { limit: 50 } }), refetchInterval: 30_000 });
  return (
    <Card title="Watchtower: other operators' epochs">
      <Query q={q} what="Loading what the watchtower checked">
        {({ watched }) => watched.length === 0 ? <Empty>Nothing checked yet: no other operator has posted an epoch in its challenge window.</Empty> : (
          <table data-testid="explorer-watched">
            <thead><tr><th>Operator</th><th>Epoch</th><th>Verdict</th><th>Bond</th><th>Checked</th><th>What differs</th></tr></thead>
            <tbody>
              {watched.map((w) => (
                <tr key={`${w.operator}:${w.epoch}`}>
                  <td><Short value={w.operator} /></td>
                  <td>{w.epoch}</td>
                  <td className={w.verdict === 'ok' ? 'ok' : 'error'}>{w.verdict === 'ok' ? '✓ checks out' : w.verdict}</td>
                  <td>{w.bond ? open(w.bond) : '—'}</td>
                  <td>{new Date(w.checkedAt).toLocaleString()}</td>
                  <td>{w.problems.slice(0, 3).join('; ')}{w.problems.length > 3 ? ` (+${w.problems.length - 3})` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Query>
    </Card>
  );
}
