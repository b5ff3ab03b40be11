import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useAccount } from '../account.tsx';
import { call, routes } from '../api.ts';
import { Card, Empty, ErrorBox, Loading } from '../components/states.tsx';
import { when } from './datanet/types.ts';
import { PublishHelp } from './marketplace/publish-help.tsx';
import { SkillTable } from './marketplace/skill-table.tsx';

const BackToMarketplace = () => <p><Link to="/marketplace">← Marketplace</Link></p>;
const isMe = (a: string, me: string | undefined) => !!me && a.toLowerCase() === me.toLowerCase();

/**
 * One agent this node runs: its ERC-8004 id, its ERC-6551 account (its treasury, paid by its skills),
 * its owner, the session key the node signs its calls with and whether it can (granted by the
 * token's current owner), its standard listings (A2A agent card, ERC-8004 registration file, MCP
 * endpoint) and the skills it sells.
 */
export function AgentPage() {
  const { name = '' } = useParams();
  const { signer } = useAccount();
  const agent = useQuery({ queryKey: ['agent', name], queryFn: ({ signal }) => call(routes.getAgent, { params: { name } }, { signal }) });

  if (agent.isPending) return <Loading what="Loading the agent" />;
  if (agent.isError) return <><BackToMarketplace /><h1>Agent {name}</h1><ErrorBox error={agent.error} /></>;
  const a = agent.data;
  const base = `/agents/${encodeURIComponent(a.name)}`;
  return (
    <>
      <BackToMarketplace />
      <h1 data-testid="agent-name">{a.name} <small className="empty">agent #{a.agentId}</small></h1>
      <Card title="Identity">
        <table>
          <tbody>
            <tr><th>Agent id</th><td data-testid="agent-id">{a.agentId} <small className="empty">(ERC-8004 AgentRegistry token)</small></td></tr>
            <tr><th>Account (treasury)</th><td><code data-testid="agent-account">{a.account}</code> <small className="empty">(ERC-6551: what its skills earn is paid here)</small></td></tr>
            <tr><th>Owner</th><td><code>{a.owner}</code>{isMe(a.owner, signer?.address) && <small className="ok"> (you)</small>}</td></tr>
            <tr><th>Session key</th><td><code>{a.sessionKey}</code> <small className="empty">(the node’s key for this agent)</small></td></tr>
            <tr>
              <th>Node can sign for it</th>
              <td data-testid="agent-can-sign">{a.canSign
                ? <span className="ok">yes: the owner granted the session key (canSign)</span>
                : <span className="error">no: the token’s owner has not granted the session key with canSign, so its skills cannot be called (<code>openledger agent create</code> grants it)</span>}</td>
            </tr>
            <tr><th>Run here since</th><td>{when(a.createdAt)}</td></tr>
            <tr>
              <th>Listings</th>
              <td>
                <a href={`${base}/.well-known/agent-card.json`} target="_blank" rel="noreferrer" data-testid="agent-card-link">A2A agent card</a>
                {' · '}<a href={`${base}/registration.json`} target="_blank" rel="noreferrer" data-testid="agent-registration-link">ERC-8004 registration file</a>
                {' · '}MCP endpoint <code>{`${location.origin}${base}/mcp`}</code>
              </td>
            </tr>
          </tbody>
        </table>
      </Card>
      <Card title="Skills">
        {a.skills.length === 0 ? <Empty>{a.name} sells no skill yet.</Empty> : <SkillTable skills={a.skills} showAgent={false} />}
      </Card>
      {isMe(a.owner, signer?.address) && <PublishHelp agent={a.name} />}
    </>
  );
}
