import { useEffect, useState } from 'react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { open, call, routes } from '../api.ts';
import { Card, Empty, ErrorBox, Loading, Short, ShowMore } from '../components/states.tsx';
import { CreateDatanetForm } from './datanet/create-form.tsx';

const PAGE = 25;

/**
 * Datanets: browse and search them by name or description, each linking to its page, and create
 * one (signed by the connected account, who owns it).
 */
export function DatanetsPage() {
  return (
    <>
      <h1>Datanets</h1>
      <DatanetBrowser />
      <CreateDatanetForm />
    </>
  );
}

/** The list of datanets, newest first, searched as one types, a page at a time. */
function DatanetBrowser() {
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQ(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);
  const list = useInfiniteQuery({
    queryKey: ['datanets', 'browse', q],
    queryFn: ({ pageParam, signal }) => {
      return call(routes.listDatanets, { query: { limit: PAGE, ...(q ? { q } : {}), ...(pageParam !== null ? { before: pageParam } : {}) } }, { signal });
    },
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next,
  });
  const datanets = list.data?.pages.flatMap((p) => p.datanets) ?? [];

  return (
    <Card title="Browse">
      <input
        type="search" data-testid="datanet-search" placeholder="Search names and descriptions" aria-label="search datanets"
        value={search} onChange={(e) => setSearch(e.target.value)} maxLength={200} style={{ width: '100%', boxSizing: 'border-box', marginBottom: '.75rem' }}
      />
      {list.isPending ? <Loading what="Loading datanets" /> : list.isError ? <ErrorBox error={list.error} /> : datanets.length === 0 ? (
        <Empty>{q ? `No datanet matches "${q}".` : 'No datanets yet: create the first one below.'}</Empty>
      ) : (
        <>
          <table data-testid="datanet-list">
            <thead><tr><th>#</th><th>Name</th><th>Description</th><th>Licence</th><th>Curation</th><th>Stake</th><th>Owner</th></tr></thead>
            <tbody>
              {datanets.map((d) => (
                <tr key={d.id ?? d.name}>
                  <td>{d.id}</td>
                  <td><Link to={`/datanets/${d.id}`} data-testid={`datanet-link-${d.id}`}>{d.name}</Link></td>
                  <td title={d.description}>{d.description.length > 120 ? `${d.description.slice(0, 120)}…` : d.description}</td>
                  <td>{d.licence}</td>
                  <td>{d.curation}</td>
                  <td>{BigInt(d.contributionStake) === 0n ? 'none' : open(d.contributionStake)}</td>
                  <td><Short value={d.owner} chars={4} /></td>
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
