import { useQuery } from '@tanstack/react-query';
import { open, call, routes } from '../../api.ts';
import { Empty, Query, Short } from '../../components/states.tsx';
import { VerifyEpoch } from './verify-epoch.tsx';

/** The settlement epochs this node prepared, newest first: status, receipts, cumulative total, root and transaction; a posted one can be recomputed here. */
export function EpochList() {
  const q = useQuery({ queryKey: ['settlement-epochs'], queryFn: () => call(routes.listEpochs, {}) });
  return (
    <Query q={q} what="Loading epochs">
      {({ epochs }) => epochs.length === 0 ? <Empty>No epoch yet: the node settles paid answers periodically (its operator can also run the epoch job now).</Empty> : (
        <table data-testid="rewards-epochs">
          <thead><tr><th>Epoch</th><th>Status</th><th>Receipts</th><th>Cumulative total</th><th>Posted</th><th>Root</th><th>Transaction</th><th>Check</th></tr></thead>
          <tbody>
            {epochs.map((e) => (
              <tr key={e.epoch}>
                <td>{e.epoch}</td>
                <td>{e.status}</td>
                <td>{e.receipts}</td>
                <td>{open(e.cumulativeTotal)}</td>
                <td>{e.postedAt ? new Date(e.postedAt).toLocaleString() : '—'}</td>
                <td><Short value={e.root} /></td>
                <td>{e.txHash ? <Short value={e.txHash} /> : '—'}</td>
                <td>{e.status === 'posted' ? <VerifyEpoch epoch={e.epoch} /> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Query>
  );
}
