import { Link } from 'react-router';
import { open } from '../../api.ts';
import { Short } from '../../components/states.tsx';
import { priceText } from './format.ts';
import type { Skill } from './types.ts';

/**
 * Skills as a table: name and description (linking to the skill), the agent selling it, its price,
 * the models and datanets behind it, its paid-call reputation and its listing bond.
 */
export function SkillTable({ skills, showAgent = true }: { skills: Skill[]; showAgent?: boolean }) {
  return (
    <table data-testid="skill-list">
      <thead>
        <tr><th>Skill</th>{showAgent && <th>Agent</th>}<th>Price</th><th>Models</th><th>Datanets</th><th>Paid calls</th><th>Listing bond</th></tr>
      </thead>
      <tbody>
        {skills.map((s) => (
          <tr key={s.id} data-testid={`skill-row-${s.name}`}>
            <td>
              <Link to={`/marketplace/skills/${s.id}`} data-testid={`skill-link-${s.name}`}><b>{s.name}</b></Link>
              <br /><small title={s.description}>{s.description.length > 140 ? `${s.description.slice(0, 140)}…` : s.description}</small>
            </td>
            {showAgent && <td>{s.agentName ? <Link to={`/marketplace/agents/${s.agentName}`}>{s.agentName}</Link> : <Short value={s.agent} chars={4} />}</td>}
            <td data-testid="skill-price">{priceText(s.offer)}</td>
            <td>{s.offer.models.length === 0 ? '—' : s.offer.models.map((m, i) => <span key={m}>{i > 0 && ', '}<Link to={`/playground?model=${encodeURIComponent(m)}`}>{m}</Link></span>)}</td>
            <td>{s.offer.datanets.length === 0 ? '—' : s.offer.datanets.map((d, i) => <span key={d}>{i > 0 && ', '}<Link to={`/datanets/${d}`}>{d}</Link></span>)}</td>
            <td data-testid="skill-reputation" title="calls paid for through this node, and the OPEN they paid">{s.calls.count} ({open(s.calls.paid)})</td>
            <td data-testid="skill-bond">{s.listing ? <>{open(s.listing.bond)}{!s.listing.active && <small className="error"> (delisted)</small>}</> : <span className="empty">not bonded</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
