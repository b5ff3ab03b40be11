import { useState } from 'react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { call, routes } from '../../api.ts';
import { Empty, ErrorBox, Loading, Short, ShowMore } from '../../components/states.tsx';
import type { Upload } from './types.ts';

const PAGE = 100;
const finished = (u: Upload) => u.status === 'done' || u.status === 'failed';

/**
 * An upload's outcome: its counts (accepted, pending, rejected), then every record's verdict,
 * filterable by status; polls the upload while the node is still processing it.
 */
export function UploadResult({ initial }: { initial: Upload }) {
  const upload = useQuery({
    queryKey: ['upload', initial.id],
    queryFn: ({ signal }) => call(routes.getUpload, { params: { id: initial.id } }, { signal }),
    initialData: initial,
    refetchInterval: (q) => (q.state.data && finished(q.state.data) ? false : 1500),
  });
  const u = upload.data;
  return (
    <div data-testid="upload-result" className="card" style={{ marginTop: '.75rem' }}>
      <p>
        <strong>{u.filename ?? 'upload'}</strong> ({(u.bytes / 1024).toFixed(1)} KiB{u.format ? `, ${u.format}` : ''}) —{' '}
        {u.status === 'failed' ? <span className="error">the file could not be read: {u.error}</span>
          : !finished(u) ? <span className="loading">{u.status}: {u.records.toLocaleString('en')} records so far…</span>
          : <>
              {u.records.toLocaleString('en')} records:{' '}
              <span className="ok" data-testid="upload-accepted">{u.accepted.toLocaleString('en')} accepted</span>,{' '}
              <span data-testid="upload-pending">{u.pending.toLocaleString('en')} pending</span>{u.pending > 0 ? ' (waiting for a curator)' : ''},{' '}
              <span className={u.rejected > 0 ? 'error' : undefined} data-testid="upload-rejected">{u.rejected.toLocaleString('en')} rejected</span>
            </>}
      </p>
      <ErrorBox error={upload.error} />
      {finished(u) && u.status !== 'failed' && u.records > 0 && <RecordResults upload={u} />}
    </div>
  );
}

/** Every record's verdict, a page at a time. */
function RecordResults({ upload }: { upload: Upload }) {
  const [status, setStatus] = useState<'' | 'accepted' | 'pending' | 'rejected'>(upload.rejected > 0 ? 'rejected' : '');
  const records = useInfiniteQuery({
    queryKey: ['upload-records', upload.id, status],
    queryFn: ({ pageParam, signal }) => {
      return call(routes.listUploadRecords, { params: { id: upload.id }, query: { from: pageParam, limit: PAGE, ...(status ? { status } : {}) } }, { signal });
    },
    initialPageParam: 0,
    getNextPageParam: (last) => last.next,
  });
  const rows = records.data?.pages.flatMap((p) => p.records) ?? [];
  return (
    <details open={upload.rejected > 0}>
      <summary>Per-record results</summary>
      <label className="row" style={{ margin: '.5rem 0' }}>
        Show{' '}
        <select value={status} onChange={(e) => setStatus(e.target.value as typeof status)} data-testid="upload-records-filter">
          <option value="">every record</option>
          <option value="accepted">accepted</option>
          <option value="pending">pending</option>
          <option value="rejected">rejected</option>
        </select>
      </label>
      {records.isPending ? <Loading what="Loading records" /> : records.isError ? <ErrorBox error={records.error} /> : rows.length === 0 ? (
        <Empty>No {status || ''} records.</Empty>
      ) : (
        <>
          <table data-testid="upload-records">
            <thead><tr><th>Record</th><th>Result</th><th>Details</th></tr></thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.index}>
                  <td>#{r.index + 1}</td>
                  <td className={r.status === 'rejected' ? 'error' : r.status === 'accepted' ? 'ok' : undefined}>{r.status}{r.status === 'rejected' ? `: ${r.reason}` : ''}</td>
                  <td>
                    {r.status === 'rejected' ? <>{r.detail}{r.duplicateOf && <> (duplicate of <Short value={r.duplicateOf} />)</>}</> : <>contribution <Short value={r.id} /></>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <ShowMore list={records} />
        </>
      )}
    </details>
  );
}
