import { useQuery } from '@tanstack/react-query';
import { useAccount } from '../account.tsx';
import { call, routes } from '../api.ts';
import { ErrorBox, Loading } from '../components/states.tsx';
import { DevChainCard } from './governance/dev-chain-card.tsx';
import { ParametersCard } from './governance/parameters-card.tsx';
import { useGovParams } from './governance/hooks.ts';
import { ProposalsCard } from './governance/proposals-card.tsx';
import { ProposeCard } from './governance/propose-form.tsx';
import { VotingPowerCard } from './governance/voting-power-card.tsx';

/**
 * Governance: the protocol parameters in force (read from the contracts), the connected account's
 * votes (with self-delegation), a form to propose a new fee split and/or attribution threshold, and
 * every proposal with its state, tally and the next step (vote, queue, execute).
 */
export function GovernancePage() {
  const { status, publicClient } = useAccount();
  const params = useGovParams();
  // the same query as the account provider's, to show why the node's status is missing
  const statusQuery = useQuery({ queryKey: ['status'], queryFn: () => call(routes.getStatus, {}), staleTime: 60_000 });
  if (!status || !publicClient) {
    return <><h1>Governance</h1>{statusQuery.isError ? <ErrorBox error={statusQuery.error} /> : <Loading what="Reaching the node" />}</>;
  }
  return (
    <>
      <h1>Governance</h1>
      <p>
        OPEN holders vote on the protocol's parameters; an accepted proposal waits in the timelock, which holds
        every admin role, and then anyone may execute it.
      </p>
      <ParametersCard />
      <VotingPowerCard />
      <ProposeCard />
      <ProposalsCard />
      {status.chain.development && params.data && <DevChainCard params={params.data} />}
    </>
  );
}
