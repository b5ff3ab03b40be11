import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useAccount } from '../../account.tsx';
import { call, routes } from '../../api.ts';
import { Card, Empty, ErrorBox, Loading, Short } from '../../components/states.tsx';
import { canCurate, when, type Datanet } from './types.ts';

/**
 * A datanet's snapshots (frozen sets of accepted contributions, recorded on chain by their Merkle
 * root, which models cite as provenance), and for its owner and curators a button taking one.
 */
export function SnapshotsCard({ datanet }: { datanet: Datanet & { id: number } }) {
  const { signer } = useAccount();
  const queryClient = useQueryClient();
  const snapshots = useQuery({
    // the same key and shape as the ModelFactory wizard's, so both see a new snapshot
    queryKey: ['datanet-snapshots', datanet.id],
    queryFn: ({ signal }) => call(routes.listSnapshots, { params: { id: datanet.id! } }, { signal }).then((r) => r.snapshots),
    refetchInterval: (q) => (q.state.data?.some((s) => s.status !== 'recorded') ? 3000 : false),
  });
  const take = useMutation({
    mutationFn: async () => {
      const before = new Set((snapshots.data ?? []).map((s) => s.id));
      const s = await call(routes.createSnapshot, { params: { id: datanet.id! } }, { signer });
      return { snapshot: s, created: !before.has(s.id) };
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['datanet-snapshots', datanet.id] });
      void queryClient.invalidateQueries({ queryKey: ['datanet-stats', datanet.id] });
    },
  });
  const curator = canCurate(datanet, signer?.address);

  return (
    <Card
      title="Snapshots"
      actions={curator && (
        <button type="button" data-testid="snapshot-create" disabled={take.isPending} onClick={() => take.mutate()}>
          {take.isPending ? 'Taking a snapshot and recording it on chain…' : 'Take snapshot'}
        </button>
      )}
    >
      {take.data && (
        <p className="ok" data-testid="snapshot-created">
          {take.data.created
            ? `Snapshot #${take.data.snapshot.id} ${take.data.snapshot.status === 'recorded' ? 'recorded on chain' : 'taken'}: ${take.data.snapshot.count.toLocaleString('en')} contributions.`
            : `Nothing changed since snapshot #${take.data.snapshot.id}: the accepted contributions are the same.`}
        </p>
      )}
      <ErrorBox error={take.error} />
      {snapshots.isPending ? <Loading what="Loading snapshots" /> : snapshots.isError ? <ErrorBox error={snapshots.error} /> : snapshots.data.length === 0 ? (
        <Empty>No snapshot yet. {curator ? 'Take one once contributions are accepted; models are trained on snapshots.' : 'The owner or a curator takes one once contributions are accepted.'}</Empty>
      ) : (
        <>
          <table data-testid="snapshot-list">
            <thead><tr><th>Snapshot</th><th>Contributions</th><th>Merkle root</th><th>On chain</th><th>Taken by</th><th>When</th></tr></thead>
            <tbody>
              {snapshots.data.map((s) => (
                <tr key={s.id} data-testid={`snapshot-${s.id}`}>
                  <td>#{s.id}</td>
                  <td>{s.count.toLocaleString('en')}</td>
                  <td><Short value={s.root} /></td>
                  <td>{s.status === 'recorded' ? <>index {s.snapshotIndex}{s.txHash && <>, tx <Short value={s.txHash} /></>}</> : <span className="loading">being recorded…</span>}</td>
                  <td><Short value={s.requestedBy} chars={4} /></td>
                  <td>{when(s.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="empty">Fine-tune a model on a recorded snapshot in <Link to="/factory">ModelFactory</Link>.</p>
        </>
      )}
    </Card>
  );
}
