import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { call, routes, type RouteOutput } from '../../api.ts';
import { Card, Empty, ErrorBox, Field, Loading, Short } from '../../components/states.tsx';
import { contractNames, eventNames } from './contracts.ts';

/** One indexed protocol event as `GET /chain/events` returns it (bigints in `args` are decimal strings). */
export type ChainEvent = RouteOutput<typeof routes.listChainEvents>['events'][number];

const LIMIT = 25;

/** A page of indexed events, newest first; the first page is polled so new events show up. */
function useChainEvents(filter: { contract: string; event: string }, before: string | undefined) {
  return useQuery({
    queryKey: ['chain-events', filter.contract, filter.event, before ?? 'newest'],
    placeholderData: keepPreviousData,
    refetchInterval: before ? false : 5000,
    queryFn: ({ signal }) => {
      return call(routes.listChainEvents, { query: { limit: LIMIT, ...(filter.contract ? { contract: filter.contract } : {}), ...(filter.event ? { event: filter.event } : {}), ...(before ? { before } : {}) } }, { signal });
    },
  });
}

/** The protocol's indexed events, filtered by contract and event name, paged towards older ones. */
export function ProtocolEvents() {
  const [filter, setFilter] = useState({ contract: '', event: '' });
  // The cursors of the pages above the current one (empty on the newest page).
  const [cursors, setCursors] = useState<string[]>([]);
  const before = cursors.at(-1);
  const events = useChainEvents(filter, before);
  const names = eventNames(filter.contract || undefined);
  const change = (next: { contract: string; event: string }) => {
    setFilter({ contract: next.contract, event: eventNames(next.contract || undefined).includes(next.event) ? next.event : '' });
    setCursors([]);
  };
  return (
    <Card title="Protocol events">
      <div className="row">
        <Field label="Contract">
          <select data-testid="events-contract" value={filter.contract} onChange={(e) => change({ ...filter, contract: e.target.value })}>
            <option value="">all contracts</option>
            {contractNames.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </Field>
        <Field label="Event">
          <select data-testid="events-event" value={filter.event} onChange={(e) => change({ ...filter, event: e.target.value })}>
            <option value="">all events</option>
            {names.map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </Field>
      </div>
      {events.isPending ? <Loading what="Loading indexed events" /> : events.isError ? <ErrorBox error={events.error} /> : events.data.events.length === 0 ? (
        <Empty>{cursors.length ? 'No older events.' : filter.contract || filter.event ? 'No event matches this filter yet.' : 'No protocol events indexed yet.'}</Empty>
      ) : (
        <table data-testid="events-table" style={events.isPlaceholderData ? { opacity: 0.6 } : undefined}>
          <thead><tr><th>block</th><th>contract</th><th>event</th><th>arguments</th><th>transaction</th></tr></thead>
          <tbody>
            {events.data.events.map((e) => (
              <tr key={e.id} data-testid="event-row">
                <td data-testid="event-block">{e.blockNumber}</td>
                <td data-testid="event-contract">{e.contract}</td>
                <td data-testid="event-name">{e.event}</td>
                <td data-testid="event-args"><Args args={e.args} /></td>
                <td><Short value={e.txHash} chars={4} /> #{e.logIndex}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="row">
        <button type="button" className="secondary" data-testid="events-newest" disabled={cursors.length === 0} onClick={() => setCursors([])}>Newest</button>
        <button type="button" className="secondary" data-testid="events-newer" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
        <button
          type="button" className="secondary" data-testid="events-older"
          disabled={!events.data?.next || events.isPlaceholderData}
          onClick={() => { const next = events.data?.next; if (next) setCursors((c) => [...c, next]); }}
        >Older</button>
        {cursors.length > 0 && <small>page {cursors.length + 1}</small>}
      </div>
    </Card>
  );
}

/** An event's arguments, one per line; addresses and hashes shortened, structs and arrays as JSON. */
function Args({ args }: { args: Record<string, unknown> }) {
  const entries = Object.entries(args);
  if (entries.length === 0) return <small>none</small>;
  return (
    <div>
      {entries.map(([k, v]) => (
        <div key={k}><small>{k}</small> <Value v={v} /></div>
      ))}
    </div>
  );
}

function Value({ v }: { v: unknown }) {
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$|^0x[0-9a-fA-F]{64}$/.test(v)) return <Short value={v} chars={4} />;
  if (typeof v === 'string' && v.length > 80) return <code title={v}>{v.slice(0, 77)}…</code>;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return <code>{String(v)}</code>;
  const json = JSON.stringify(v);
  return <code title={json}>{json.length > 80 ? `${json.slice(0, 77)}…` : json}</code>;
}
