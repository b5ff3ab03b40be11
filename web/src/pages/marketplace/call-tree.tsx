import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { call, open, routes } from '../../api.ts';
import { useAccount } from '../../account.tsx';
import { Empty, Query, Short } from '../../components/states.tsx';
import { percentPpm, roleHint, roleName, ROLE_ORDER } from './format.ts';
import { STAKERS_POOL, type Agent, type Payout, type PayoutNode } from './types.ts';

/** The agents this node runs, by account (lowercase): to name agents and payees. */
function useAgentsByAccount(): Map<string, Agent> {
  const agents = useQuery({ queryKey: ['agents'], queryFn: ({ signal }) => call(routes.listAgents, {}, { signal }), staleTime: 60_000 });
  return new Map((agents.data?.agents ?? []).map((a) => [a.account.toLowerCase(), a]));
}

/** Who an address is, as far as this page knows: the stakers' pool, the protocol's treasury, an agent of this node, the connected account. */
function Party({ address, agents }: { address: string; agents: Map<string, Agent> }) {
  const { signer, status } = useAccount();
  if (address.toLowerCase() === STAKERS_POOL) return <span title={address}>the stakers’ pool</span>;
  // the protocol fee goes to the timelock, the treasury governance spends
  if (status && address.toLowerCase() === status.contracts.timelock.toLowerCase()) return <span title={address}>the protocol treasury</span>;
  const agent = agents.get(address.toLowerCase());
  if (agent) return <Link to={`/marketplace/agents/${agent.name}`} title={address}>agent {agent.name}</Link>;
  return <><Short value={address} chars={4} />{signer && signer.address.toLowerCase() === address.toLowerCase() && <small className="ok"> (you)</small>}</>;
}

/**
 * A call's whole tree, from the consumer's call down (whichever call of it `callId` is), with what
 * each call paid whom, refreshed until an epoch settles it: each call's skill, agent, price and
 * payer; the inferences it ran with the contributions credited; its payouts grouped by role; and
 * the check that its payouts and its children's prices add up to its price.
 */
export function CallTreeView({ callId }: { callId: string }) {
  const tree = useQuery({
    queryKey: ['skill-call', callId.toLowerCase()],
    queryFn: ({ signal }) => call(routes.getSkillCall, { params: { id: callId } }, { signal }),
    // until an epoch settles it
    refetchInterval: (q) => (q.state.data && q.state.data.epoch === null ? 5000 : false),
  });
  const agents = useAgentsByAccount();
  return (
    <Query q={tree} what="Loading the call tree">
      {(t) => (
        <div data-testid="call-tree">
          <p data-testid="call-epoch">
            {t.epoch !== null
              ? <span className="ok">Settled in epoch {t.epoch}: these payouts are in its cumulative earnings (<Link to="/rewards">Rewards</Link>).</span>
              : <span className="empty">Not settled yet: the next epoch draws the price from the payer’s escrow and pays these payouts.</span>}
          </p>
          <CallBox node={t.root} agents={agents} selected={callId.toLowerCase()} />
        </div>
      )}
    </Query>
  );
}

/** One call, its inferences, its payouts, and the calls it made nested inside it. */
function CallBox({ node, agents, selected }: { node: PayoutNode; agents: Map<string, Agent>; selected: string }) {
  const c = node.call;
  const skill = useQuery({ queryKey: ['skill', c.skill.toLowerCase()], queryFn: ({ signal }) => call(routes.getSkill, { params: { id: c.skill } }, { signal }), staleTime: 60_000 });
  const price = BigInt(c.price);
  const paidOut = node.payouts.reduce((s, p) => s + BigInt(p.amount), 0n);
  const childPrices = node.children.reduce((s, k) => s + BigInt(k.call.price), 0n);
  const balanced = paidOut + childPrices === price;
  return (
    <div className={`call-node${c.callId.toLowerCase() === selected ? ' selected' : ''}`} data-testid="call-node" data-call={c.callId}>
      <div className="row call-head">
        <b data-testid="call-skill">{skill.data ? <Link to={`/marketplace/skills/${c.skill}`}>{skill.data.name}</Link> : <Short value={c.skill} />}</b>
        <span>by <Party address={c.agent} agents={agents} /></span>
        <span>price <b data-testid="call-price">{open(price)}</b></span>
        <span>paid by <Party address={c.payer} agents={agents} /></span>
        <small>call <Link to={`/marketplace/calls/${c.callId}`}><Short value={c.callId} chars={4} /></Link></small>
      </div>

      <h3>Inferences</h3>
      {node.inferences.length === 0 ? <Empty>This call ran no inference of its own.</Empty> : (
        <table data-testid="call-inferences">
          <thead><tr><th>Model</th><th>Fee</th><th>Contributions credited (share of the answer)</th></tr></thead>
          <tbody>
            {node.inferences.map((i) => (
              <tr key={i.receiptId} data-testid="call-inference">
                <td><Link to={`/playground?model=${encodeURIComponent(i.model)}`}>{i.model}</Link><br /><small title={i.receiptId}>receipt <Short value={i.receiptId} chars={4} /></small></td>
                <td>{open(i.fee)}</td>
                <td>{i.contributions.length === 0 ? <span className="empty">none: the contributors’ share went to the datanet’s pool</span> : (
                  <ul style={{ margin: 0, paddingLeft: '1rem' }}>
                    {i.contributions.map((x) => <ContributionLine key={x.contributionId} c={x} />)}
                  </ul>
                )}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h3>Payouts by role</h3>
      <PayoutTable payouts={node.payouts} agents={agents} />
      <p data-testid="call-sum" data-balanced={balanced ? 'yes' : 'no'} className={balanced ? 'ok' : 'error'}>
        Paid out here {open(paidOut)}
        {node.children.length > 0 && <> + the price of the {node.children.length === 1 ? 'call' : `${node.children.length} calls`} it made {open(childPrices)} = {open(paidOut + childPrices)}</>}
        {balanced ? ' = its price ✓' : ` ≠ its price (${open(price)})`}
      </p>

      {node.children.length > 0 && (
        <div className="call-children">
          <h3>Calls it made</h3>
          {node.children.map((k) => <CallBox key={k.call.callId} node={k} agents={agents} selected={selected} />)}
        </div>
      )}
    </div>
  );
}

/** A credited contribution: its id, datanet, share and contributor (`GET /contributions/:id`). */
function ContributionLine({ c }: { c: PayoutNode['inferences'][number]['contributions'][number] }) {
  const info = useQuery({ queryKey: ['contribution', c.contributionId], queryFn: () => call(routes.getContribution, { params: { id: c.contributionId } }), staleTime: Infinity });
  return (
    <li data-testid="call-contribution">
      <Short value={c.contributionId} chars={4} /> in <Link to={`/datanets/${c.datanetId}`}>datanet {c.datanetId}</Link>: <b>{percentPpm(c.sharePpm)}</b>
      {info.data && <> · contributed by <Short value={info.data.contributor} chars={4} /></>}
    </li>
  );
}

/** A call's payouts grouped by role, each role with its total. */
function PayoutTable({ payouts, agents }: { payouts: Payout[]; agents: Map<string, Agent> }) {
  if (payouts.length === 0) return <Empty>Nothing paid out here.</Empty>;
  const byRole = new Map<string, Payout[]>();
  for (const p of payouts) byRole.set(p.role, [...(byRole.get(p.role) ?? []), p]);
  const rank = (r: string) => (ROLE_ORDER.includes(r) ? ROLE_ORDER.indexOf(r) : ROLE_ORDER.length);
  const roles = [...byRole.keys()].sort((a, b) => rank(a) - rank(b));
  return (
    <table data-testid="call-payouts">
      <thead><tr><th>Role</th><th>To</th><th>Model</th><th>Datanet</th><th>Amount</th></tr></thead>
      {roles.map((role) => {
        const ps = byRole.get(role)!;
        const total = ps.reduce((s, p) => s + BigInt(p.amount), 0n);
        return (
          <tbody key={role} data-testid={`payout-${role}`} data-amount={total.toString()}>
            {ps.map((p, j) => (
              <tr key={`${p.payee}|${p.modelName}|${p.datanetId}|${j}`}>
                {j === 0 && <th rowSpan={ps.length} title={roleHint(role)}>{roleName(role)}{ps.length > 1 && <><br /><small>{open(total)} in all</small></>}</th>}
                <td><Party address={p.payee} agents={agents} /></td>
                <td>{p.modelName || '—'}</td>
                <td>{p.datanetId ? <Link to={`/datanets/${p.datanetId}`}>{p.datanetId}</Link> : '—'}</td>
                <td>{open(p.amount)}</td>
              </tr>
            ))}
          </tbody>
        );
      })}
    </table>
  );
}
