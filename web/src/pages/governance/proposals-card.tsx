import { Card, Empty, ErrorBox, Query } from '../../components/states.tsx';
import { useGovClock, useProposals } from './hooks.ts';
import { ProposalRow } from './proposal-row.tsx';

/** Every governance proposal the node indexed, newest first, each with its state and actions. */
export function ProposalsCard() {
  const proposals = useProposals();
  const clock = useGovClock();
  return (
    <Card title="Proposals" actions={clock.data && <small>now: {clock.data.mode === 'timestamp' ? new Date(Number(clock.data.now) * 1000).toLocaleString() : `block ${clock.data.now.toLocaleString('en')}`}</small>}>
      <ErrorBox error={clock.error} />
      <Query q={proposals} what="Loading the proposals">
        {(list) => list.length === 0
          ? <Empty>No proposal yet. Propose a change above; OPEN holders who delegated their votes then vote on it.</Empty>
          : <div data-testid="gov-proposals">{list.map((p) => <ProposalRow key={p.id.toString()} p={p} clock={clock.data} />)}</div>}
      </Query>
    </Card>
  );
}
