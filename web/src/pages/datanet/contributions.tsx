import { useState } from 'react';
import { useInfiniteQuery } from '@tanstack/react-query';
import type { Address } from 'viem';
import { useAccount } from '../../account.tsx';
import { call, routes } from '../../api.ts';
import { Card, Empty, ErrorBox, Loading, Short, ShowMore } from '../../components/states.tsx';
import { RecordPreview } from './record-preview.tsx';
import { when, type ContributionStatus } from './types.ts';

const PAGE = 25;

/** The datanet's contributions, newest first, by status and optionally only the connected account's. */
export function ContributionsCard({ datanetId }: { datanetId: number }) {
  const { signer } = useAccount();
  const [status, setStatus] = useState<ContributionStatus | ''>('accepted');
  const [mine, setMine] = useState(false);
  const contributor: Address | undefined = mine ? signer?.address : undefined;
  const list = useInfiniteQuery({
    queryKey: ['datanet-contributions', datanetId, 'browse', status, contributor ?? null],
    queryFn: ({ pageParam, signal }) => {
      return call(routes.listDatanetContributions, { params: { id: datanetId }, query: { limit: PAGE, ...(status ? { status } : {}), ...(contributor ? { contributor } : {}), ...(pageParam ? { before: pageParam } : {}) } }, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
  });
  const rows = list.data?.pages.flatMap((p) => p.contributions) ?? [];
  return (
    <Card title="Contributions">
      <div className="row" style={{ marginBottom: '.5rem' }}>
        <label className="row">Show
          <select value={status} onChange={(e) => setStatus(e.target.value as ContributionStatus | '')} data-testid="contributions-filter">
            <option value="accepted">accepted</option>
            <option value="pending">pending</option>
            <option value="rejected">rejected by a curator</option>
            <option value="">all</option>
          </select>
        </label>
        {signer && <label className="row"><input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> only mine</label>}
      </div>
      {list.isPending ? <Loading what="Loading contributions" /> : list.isError ? <ErrorBox error={list.error} /> : rows.length === 0 ? (
        <Empty>No {status ? `${status} ` : ''}contributions{mine ? ' of yours' : ''} yet.</Empty>
      ) : (
        <>
          <table data-testid="contributions">
            <thead><tr><th>Record</th><th>Contributor</th><th>Status</th><th>Anchored</th><th>When</th></tr></thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.id}>
                  <td style={{ maxWidth: '30rem' }}><RecordPreview record={c.record} /><div><small className="empty"><Short value={c.id} /></small></div></td>
                  <td><Short value={c.contributor} chars={4} /></td>
                  <td className={c.status === 'accepted' ? 'ok' : c.status === 'rejected' ? 'error' : undefined}>
                    {c.status}{c.reason ? `: ${c.reason}` : ''}{c.spam ? ' (spam)' : ''}
                  </td>
                  <td>{c.batchId !== null ? `batch ${c.batchId}` : c.status === 'accepted' ? 'with the next batch' : '—'}</td>
                  <td>{when(c.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <ShowMore list={list} />
        </>
      )}
    </Card>
  );
}
