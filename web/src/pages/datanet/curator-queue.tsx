import { useState } from 'react';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import type { Hex } from 'viem';
import { useAccount } from '../../account.tsx';
import { call, routes } from '../../api.ts';
import { Card, Empty, ErrorBox, Field, Loading, Short, ShowMore } from '../../components/states.tsx';
import { RecordPreview } from './record-preview.tsx';
import { when, type Contribution, type Datanet } from './types.ts';

const PAGE = 50;

/**
 * The curator queue: the datanet's pending contributions, newest first, each
 * approved or rejected (with a reason, optionally as spam, which slashes the contributor's stake)
 * through the signed decision route. Shown to the owner and the curators.
 */
export function CuratorQueue({ datanet }: { datanet: Datanet & { id: number } }) {
  const pending = useInfiniteQuery({
    queryKey: ['datanet-contributions', datanet.id, 'pending'],
    queryFn: ({ pageParam, signal }) => {
      return call(routes.listDatanetContributions, { params: { id: datanet.id! }, query: { status: 'pending', limit: PAGE, ...(pageParam ? { before: pageParam } : {}) } }, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
  });
  const rows = pending.data?.pages.flatMap((p) => p.contributions) ?? [];
  return (
    <Card title="Curator queue">
      {datanet.curation === 'auto' && <p className="empty">This datanet accepts valid records automatically; contributions wait here only under manual curation.</p>}
      {pending.isPending ? <Loading what="Loading pending contributions" /> : pending.isError ? <ErrorBox error={pending.error} /> : rows.length === 0 ? (
        <Empty>No contribution waits for a decision.</Empty>
      ) : (
        <>
          <table data-testid="curator-queue">
            <thead><tr><th>Record</th><th>Contributor</th><th>Decision</th></tr></thead>
            <tbody>{rows.map((c) => <PendingRow key={c.id} datanetId={datanet.id} c={c} stake={BigInt(datanet.contributionStake)} />)}</tbody>
          </table>
          <ShowMore list={pending} />
        </>
      )}
    </Card>
  );
}

type Decision = { approve: true } | { approve: false; reason: string; spam: boolean };

/** One pending contribution with its approve / reject controls. */
function PendingRow({ datanetId, c, stake }: { datanetId: number; c: Contribution; stake: bigint }) {
  const { signer } = useAccount();
  const queryClient = useQueryClient();
  const [reason, setReason] = useState('');
  const [spam, setSpam] = useState(false);
  const [reasonError, setReasonError] = useState<string>();
  const decide = useMutation({
    mutationFn: (d: Decision) => call(routes.decideContribution, { params: { id: datanetId, contribution: c.id }, body: d }, { signer }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['datanet-contributions', datanetId] });
      void queryClient.invalidateQueries({ queryKey: ['datanet-stats', datanetId] });
    },
  });
  const reject = () => {
    const r = reason.trim();
    const problem = r.length === 0 ? 'say why (the contributor sees it)' : r.length > 500 ? 'at most 500 characters' : undefined;
    setReasonError(problem);
    if (!problem) decide.mutate({ approve: false, reason: r, spam });
  };
  const done = decide.isSuccess ? decide.data.status : null;
  return (
    <tr data-testid={`curator-row-${c.id}`}>
      <td style={{ maxWidth: '28rem' }}>
        <RecordPreview record={c.record} />
        <div><small className="empty">{when(c.createdAt)} · <Short value={c.id as Hex} /></small></div>
      </td>
      <td><Short value={c.contributor} chars={4} /></td>
      <td>
        {done ? <span className={done === 'accepted' ? 'ok' : 'error'}>{done}</span> : (
          <>
            <div className="row">
              <button type="button" data-testid={`curator-approve-${c.id}`} disabled={!signer || decide.isPending} onClick={() => decide.mutate({ approve: true })}>Approve</button>
              <button type="button" className="secondary" data-testid={`curator-reject-${c.id}`} disabled={!signer || decide.isPending} onClick={reject}>Reject</button>
            </div>
            <Field label="Reason to reject" error={reasonError}>
              <input data-testid={`curator-reason-${c.id}`} value={reason} maxLength={500} onChange={(e) => { setReason(e.target.value); setReasonError(undefined); }} />
            </Field>
            <label className="row" title={stake > 0n ? 'slashes the contributor’s stake' : 'this datanet has no stake to slash'}>
              <input type="checkbox" data-testid={`curator-spam-${c.id}`} checked={spam} onChange={(e) => setSpam(e.target.checked)} /> spam{stake > 0n ? ' (slash the stake)' : ''}
            </label>
          </>
        )}
        <ErrorBox error={decide.error} />
      </td>
    </tr>
  );
}
