import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { call, routes } from '../../api.ts';
import { Empty, ErrorBox, Loading, Query, Short } from '../../components/states.tsx';
import type { Datanet, Snapshot } from '../datanet/types.ts';
import { when } from './format.ts';

const PAGE = 100;

/** Wizard step 2: picks one or more recorded snapshots, from any datanet. */
export function StepSnapshots({ value, onChange, error }: { value: Snapshot[]; onChange: (snapshots: Snapshot[]) => void; error?: string | undefined }) {
  const [search, setSearch] = useState('');
  const datanets = useQuery({
    queryKey: ['datanets', 'wizard', search],
    queryFn: () => call(routes.listDatanets, { query: { limit: PAGE, ...(search.trim() ? { q: search.trim() } : {}) } }),
  });
  const toggle = (s: Snapshot, on: boolean) => onChange(on ? [...value.filter((v) => v.id !== s.id), s] : value.filter((v) => v.id !== s.id));

  return (
    <fieldset className="wizard-step">
      <legend>2. Training data: datanet snapshots</legend>
      <p>
        Chosen: {value.length === 0 ? <span className="empty">none yet</span> : value.map((s) => (
          <span key={s.id} style={{ marginRight: ".75rem" }}>#{s.id} ({s.count.toLocaleString('en')} records) <button type="button" className="secondary" onClick={() => toggle(s, false)} aria-label={`remove snapshot ${s.id}`}>×</button> </span>
        ))}
      </p>
      {error && <p className="error">{error}</p>}
      <input type="search" placeholder="Search datanets by name" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="search datanets" />
      <Query q={datanets} what="Loading datanets">
        {({ datanets: list, next }) => {
          const registered = list.filter((d): d is Datanet & { id: number } => d.id !== null);
          if (registered.length === 0) {
            return <Empty>{search ? `No datanet matches "${search}".` : <>No datanets yet. <Link to="/datanets">Create one</Link>, gather contributions and take a snapshot.</>}</Empty>;
          }
          return (
            <>
              {registered.map((d) => <DatanetSnapshots key={d.id} datanet={d} chosen={value} onToggle={toggle} />)}
              {next !== null && <p className="empty">Showing the first {PAGE} datanets; search to find others.</p>}
            </>
          );
        }}
      </Query>
    </fieldset>
  );
}

function DatanetSnapshots({ datanet, chosen, onToggle }: { datanet: Datanet & { id: number }; chosen: Snapshot[]; onToggle: (s: Snapshot, on: boolean) => void }) {
  const snapshots = useQuery({
    queryKey: ['datanet-snapshots', datanet.id],
    queryFn: () => call(routes.listSnapshots, { params: { id: datanet.id! } }).then((r) => r.snapshots),
    // a snapshot being recorded on chain becomes selectable by itself
    refetchInterval: (q) => (q.state.data?.some((s) => s.status !== 'recorded') ? 3000 : false),
  });
  return (
    <div className="wizard-datanet">
      <h3><Link to={`/datanets/${datanet.id}`}>{datanet.name}</Link> <small className="empty">#{datanet.id} · {datanet.licence}</small></h3>
      {snapshots.isPending ? <Loading what="Loading snapshots" /> : snapshots.isError ? <ErrorBox error={snapshots.error} /> : snapshots.data.length === 0 ? (
        <Empty>No snapshot yet: its owner or a curator takes one on the <Link to={`/datanets/${datanet.id}`}>datanet's page</Link>.</Empty>
      ) : (
        <table>
          <thead><tr><th></th><th>Snapshot</th><th>Records</th><th>Root</th><th>Status</th><th>Taken</th></tr></thead>
          <tbody>
            {snapshots.data.map((s) => {
              const usable = s.status === 'recorded' && s.count > 0;
              const checked = chosen.some((c) => c.id === s.id);
              return (
                <tr key={s.id}>
                  <td>
                    <input type="checkbox" id={`snapshot-${s.id}`} data-testid={`wizard-snapshot-${s.id}`} checked={checked} disabled={!usable && !checked}
                      onChange={(e) => onToggle(s, e.target.checked)} />
                  </td>
                  <td><label htmlFor={`snapshot-${s.id}`}>#{s.id}</label></td>
                  <td>{s.count.toLocaleString('en')}</td>
                  <td><Short value={s.root} /></td>
                  <td>{s.status === 'recorded' ? <span className="ok">recorded</span> : 'being recorded on chain…'}{s.count === 0 ? ' (empty)' : ''}</td>
                  <td>{when(s.createdAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
