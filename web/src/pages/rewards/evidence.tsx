import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { call, routes } from '../../api.ts';
import { Empty, Query, Short } from '../../components/states.tsx';

const preview = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

/**
 * Why the account earned as a contributor: the answers that credited its contributions, newest
 * first, with the share each got, the parts of the answer quoted from the record, and the record.
 */
export function RewardsEvidence({ address }: { address: string }) {
  const [limit, setLimit] = useState(20);
  const q = useQuery({
    queryKey: ['rewards', address, 'evidence', limit],
    queryFn: () => call(routes.getRewardEvidence, { params: { address }, query: { limit } }),
    placeholderData: keepPreviousData,
  });
  return (
    <Query q={q} what="Loading the evidence">
      {({ evidence }) => evidence.length === 0 ? <Empty>No answer has credited your contributions yet.</Empty> : (
        <div data-testid="rewards-evidence">
          <table>
            <thead><tr><th>Answer (receipt)</th><th>Model</th><th>Epoch</th><th>Contribution</th><th>Share</th><th>Quoted from your record</th></tr></thead>
            <tbody>
              {evidence.map((e) => (
                <tr key={`${e.receiptId}|${e.contributionId}`}>
                  <td><Short value={e.receiptId} /></td>
                  <td><Link to={`/playground?model=${encodeURIComponent(e.model)}`}>{e.model}</Link></td>
                  <td>{e.epoch ?? <span className="empty">not settled yet</span>}</td>
                  <td><Short value={e.contributionId} /><br /><Link to={`/datanets/${e.datanetId}`}>datanet {e.datanetId}</Link></td>
                  <td>{(e.sharePpm / 10_000).toFixed(2)} %</td>
                  <td>
                    {e.quotes.length === 0 ? <span className="empty">no verbatim span (influence)</span> : e.quotes.map((quote, i) => <div key={i}><mark className="attributed">{quote}</mark></div>)}
                    <details><summary>record</summary><span style={{ whiteSpace: 'pre-wrap', fontSize: '.85rem' }}>{preview(e.record)}</span></details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {evidence.length >= limit && limit < 200 && (
            <button type="button" className="secondary" disabled={q.isFetching} onClick={() => setLimit(Math.min(200, limit * 2))}>{q.isFetching ? 'Loading…' : 'show more'}</button>
          )}
        </div>
      )}
    </Query>
  );
}
