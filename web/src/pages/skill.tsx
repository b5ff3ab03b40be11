import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { call, open, routes } from '../api.ts';
import { Card, ErrorBox, Loading, Short } from '../components/states.tsx';
import { CallForm } from './marketplace/call-form.tsx';
import { percentBps, priceText } from './marketplace/format.ts';
import type { Skill } from './marketplace/types.ts';
import { when } from './datanet/types.ts';

const BackToMarketplace = () => <p><Link to="/marketplace">← Marketplace</Link></p>;

/**
 * One skill: its offer and terms (price, models, datanets, data royalty, upstream skills, listing
 * bond, paid-call reputation), its workflow, its agent, and a paid call as the connected account
 * with the output, the price and where the price went.
 */
export function SkillPage() {
  const { id: param = '' } = useParams();
  const valid = /^0x[0-9a-fA-F]{64}$/.test(param);
  const id = param.toLowerCase();
  const skill = useQuery({ queryKey: ['skill', id], queryFn: ({ signal }) => call(routes.getSkill, { params: { id } }, { signal }), enabled: valid });

  if (!valid) return <><BackToMarketplace /><h1>Skill</h1><ErrorBox error={`"${param}" is not a skill id (0x and 64 hex digits)`} /></>;
  if (skill.isPending) return <Loading what="Loading the skill" />;
  if (skill.isError) return <><BackToMarketplace /><h1>Skill</h1><ErrorBox error={skill.error} /></>;
  const s = skill.data;
  return (
    <>
      <BackToMarketplace />
      <h1 data-testid="skill-name">{s.name} <small className="empty">by {s.agentName ? <Link to={`/marketplace/agents/${s.agentName}`} data-testid="skill-agent">{s.agentName}</Link> : <Short value={s.agent} chars={4} />}</small></h1>
      <p>{s.description}</p>
      <Terms s={s} />
      <Workflow s={s} />
      <CallForm skill={s} />
    </>
  );
}

/** What it costs, what it pays the data and the skills it derives from, and its listing. */
function Terms({ s }: { s: Skill }) {
  const o = s.offer;
  return (
    <Card title="Offer and terms">
      <table>
        <tbody>
          <tr><th>Price</th><td data-testid="skill-offer-price">{priceText(o)} <small className="empty">({o.pricing})</small></td></tr>
          <tr><th>Models</th><td>{o.models.length === 0 ? '—' : o.models.map((m, i) => <span key={m}>{i > 0 && ', '}<Link to={`/playground?model=${encodeURIComponent(m)}`}>{m}</Link></span>)}</td></tr>
          <tr><th>Datanets behind them</th><td>{o.datanets.length === 0 ? '—' : o.datanets.map((d, i) => <span key={d}>{i > 0 && ', '}<Link to={`/datanets/${d}`}>datanet {d}</Link></span>)}</td></tr>
          <tr>
            <th>Data royalty</th>
            <td data-testid="skill-royalty">{o.dataRoyaltyBps === 0 ? 'none' : <>{percentBps(o.dataRoyaltyBps)} of the margin</>} <small className="empty">(the price less the protocol fee, inference fees and calls of other skills), paid to the contributions behind its answers by fee × attribution</small></td>
          </tr>
          <tr>
            <th>Upstream skills</th>
            <td>{o.derivedFrom.length === 0 ? 'none' : (
              <ul style={{ margin: 0, paddingLeft: '1rem' }}>
                {o.derivedFrom.map((d) => <li key={d.skill}><Link to={`/marketplace/skills/${d.skill}`}><Short value={d.skill} /></Link>: {percentBps(d.bps)} of the margin, at most {open(d.cap)} a call</li>)}
              </ul>
            )}</td>
          </tr>
          <tr><th>Licence</th><td>{s.license ?? '—'}</td></tr>
          <tr>
            <th>Listing</th>
            <td data-testid="skill-listing">{s.listing
              ? <>bond {open(s.listing.bond)} in the SkillRegistry (agent {s.listing.agentId}){s.listing.active ? '' : <span className="error"> — delisted</span>} · terms <Short value={s.listing.termsHash} chars={4} /></>
              : <span className="empty">not bonded: listed on this node only</span>}</td>
          </tr>
          <tr><th>Paid calls</th><td data-testid="skill-calls">{s.calls.count} call{s.calls.count === 1 ? '' : 's'}, {open(s.calls.paid)} paid</td></tr>
          <tr><th>Id</th><td><code style={{ wordBreak: 'break-all' }}>{s.id}</code></td></tr>
          <tr><th>Listed</th><td>{when(s.createdAt)}</td></tr>
        </tbody>
      </table>
    </Card>
  );
}

/** The steps a call runs, in order. */
function Workflow({ s }: { s: Skill }) {
  return (
    <Card title="Workflow">
      <ol data-testid="skill-steps">
        {s.steps.map((st) => (
          <li key={st.id}>
            <code>{st.id}</code>: {st.kind === 'prompt'
              ? <>a prompt to {st.model ? <Link to={`/playground?model=${encodeURIComponent(st.model)}`}>{st.model}</Link> : 'its model'}</>
              : <>a paid call of {st.skill ? <Link to={`/marketplace/skills/${st.skill}`}><Short value={st.skill} /></Link> : 'another skill'}, out of this call’s price</>}
          </li>
        ))}
      </ol>
      {s.tool && (
        <details><summary>Tool schema (MCP)</summary><pre style={{ whiteSpace: 'pre-wrap' }}>{JSON.stringify(s.tool, null, 2)}</pre></details>
      )}
    </Card>
  );
}
