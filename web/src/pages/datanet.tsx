import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useAccount } from '../account.tsx';
import { open, call, routes } from '../api.ts';
import { Card, ErrorBox, Loading, Short } from '../components/states.tsx';
import { ContributionsCard } from './datanet/contributions.tsx';
import { CuratorQueue } from './datanet/curator-queue.tsx';
import { SnapshotsCard } from './datanet/snapshots.tsx';
import { StakePanel } from './datanet/stake.tsx';
import { StatsCard } from './datanet/stats.tsx';
import { canCurate, when, type Datanet } from './datanet/types.ts';
import { UploadPanel } from './datanet/upload.tsx';

/**
 * One datanet: what it is and its rules, its activity and earnings, contributing a file of records
 * (with the node's verdict on each), the curator queue for its owner and curators, its
 * contributions and its snapshots.
 */
export function DatanetPage() {
  const { id: param } = useParams();
  const id = Number(param);
  const valid = Number.isSafeInteger(id) && id > 0;
  const { signer } = useAccount();
  const datanet = useQuery({
    queryKey: ['datanet', id],
    queryFn: ({ signal }) => call(routes.getDatanet, { params: { id } }, { signal }),
    enabled: valid,
  });

  if (!valid) return <><h1>Datanet</h1><ErrorBox error={`"${param ?? ''}" is not a datanet id`} /><p><Link to="/datanets">All datanets</Link></p></>;
  if (datanet.isPending) return <Loading what="Loading the datanet" />;
  if (datanet.isError) return <><h1>Datanet {id}</h1><ErrorBox error={datanet.error} /><p><Link to="/datanets">All datanets</Link></p></>;
  const d = datanet.data as Datanet & { id: number };
  const curator = canCurate(d, signer?.address);

  return (
    <>
      <p><Link to="/datanets">← Datanets</Link></p>
      <h1 data-testid="datanet-name">{d.name} <small className="empty">#{d.id}</small></h1>
      <About d={d} curator={curator} me={signer?.address} />
      <StatsCard datanetId={d.id} />
      <Card title="Contribute">
        <StakePanel datanet={d} />
        <UploadPanel datanet={d} />
      </Card>
      {curator && <CuratorQueue datanet={d} />}
      <SnapshotsCard datanet={d} />
      <ContributionsCard datanetId={d.id} />
    </>
  );
}

/** The datanet's description, terms and rules. */
function About({ d, curator, me }: { d: Datanet; curator: boolean; me: string | undefined }) {
  const r = d.rules;
  const rules = [
    r.minChars !== undefined && `at least ${r.minChars} characters`,
    r.maxChars !== undefined && `at most ${r.maxChars} characters`,
    `at most ${(r.maxBytes ?? 65_536).toLocaleString('en')} bytes per record`,
    r.forbiddenPatterns?.length && `must not match ${r.forbiddenPatterns.map((p) => `/${p}/i`).join(', ')}`,
    `near-duplicates (similarity ≥ ${d.nearDuplicateThreshold}) and exact duplicates are rejected`,
  ].filter(Boolean) as string[];
  return (
    <Card title="About">
      {d.description ? <p style={{ whiteSpace: 'pre-wrap' }}>{d.description}</p> : <p className="empty">No description.</p>}
      <table>
        <tbody>
          <tr><th>Owner</th><td><Short value={d.owner} />{me && d.owner.toLowerCase() === me.toLowerCase() ? <small className="ok"> (you)</small> : curator && <small className="ok"> (you are a curator)</small>}</td></tr>
          <tr><th>Licence</th><td>{d.licence}</td></tr>
          <tr><th>Curation</th><td>{d.curation === 'auto' ? 'automatic: valid records are accepted at once' : 'manual: valid records wait for a curator'}</td></tr>
          <tr><th>Curators</th><td>{d.curators.length === 0 ? 'the owner only' : d.curators.map((c) => <span key={c} style={{ marginRight: '.5rem' }}><Short value={c} chars={4} /></span>)}</td></tr>
          <tr><th>Contribution stake</th><td>{BigInt(d.contributionStake) === 0n ? 'none' : open(d.contributionStake)}</td></tr>
          <tr><th>Rules</th><td>{rules.join('; ')}</td></tr>
          <tr><th>Record schema</th><td>{d.recordSchema ? (
            <details><summary>JSON Schema</summary><pre style={{ whiteSpace: 'pre-wrap' }}>{JSON.stringify(d.recordSchema, null, 2)}</pre></details>
          ) : 'none: free text or any JSON object'}</td></tr>
          <tr><th>Metadata</th><td><code style={{ wordBreak: 'break-all' }}>{d.metadataURI}</code></td></tr>
          <tr><th>Created</th><td>{when(d.createdAt)}</td></tr>
        </tbody>
      </table>
    </Card>
  );
}
