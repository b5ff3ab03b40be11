import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { call, routes } from '../api.ts';
import { Card, Empty, ErrorBox, Loading, Query, Short } from '../components/states.tsx';
import { PublishHelp } from './marketplace/publish-help.tsx';
import { SkillTable } from './marketplace/skill-table.tsx';

/**
 * The Agent Skills Marketplace: skills sold by the agents this node runs, searched by name and
 * description, with their price, the models and datanets behind them, their paid-call reputation
 * and listing bond, each linking to its page (terms, workflow, a paid call and where its price
 * went); the agents; and how to sell one (the CLI).
 */
export function MarketplacePage() {
  return (
    <>
      <h1>Marketplace</h1>
      <SkillBrowser />
      <AgentList />
      <PublishHelp />
    </>
  );
}

/** The skills, searched as one types. */
function SkillBrowser() {
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setQ(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);
  const skills = useQuery({ queryKey: ['skills', 'browse', q], queryFn: ({ signal }) => call(routes.listSkills, { query: q ? { q } : {} }, { signal }) });
  return (
    <Card title="Skills">
      <input
        type="search" data-testid="skill-search" placeholder="Search names and descriptions" aria-label="search skills"
        value={search} onChange={(e) => setSearch(e.target.value)} maxLength={200} style={{ width: '100%', boxSizing: 'border-box', marginBottom: '.75rem' }}
      />
      {skills.isPending ? <Loading what="Loading skills" /> : skills.isError ? <ErrorBox error={skills.error} /> : skills.data.skills.length === 0 ? (
        <Empty>{q ? `No skill matches "${q}".` : 'No skill is sold here yet: publish one with the CLI (below).'}</Empty>
      ) : <SkillTable skills={skills.data.skills} />}
    </Card>
  );
}

/** The agents this node runs. */
function AgentList() {
  const agents = useQuery({ queryKey: ['agents'], queryFn: ({ signal }) => call(routes.listAgents, {}, { signal }), staleTime: 60_000 });
  return (
    <Card title="Agents">
      <Query q={agents} what="Loading agents">
        {({ agents: list }) => list.length === 0 ? <Empty>This node runs no agent yet.</Empty> : (
          <table data-testid="agent-list">
            <thead><tr><th>Agent</th><th>Id</th><th>Account (treasury)</th><th>Owner</th><th>Node signs its calls</th></tr></thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.name}>
                  <td><Link to={`/marketplace/agents/${a.name}`} data-testid={`agent-link-${a.name}`}>{a.name}</Link></td>
                  <td>{a.agentId}</td>
                  <td><Short value={a.account} chars={4} /></td>
                  <td><Short value={a.owner} chars={4} /></td>
                  <td>{a.canSign ? <span className="ok">yes</span> : <span className="error">no: session key not granted</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Query>
    </Card>
  );
}
