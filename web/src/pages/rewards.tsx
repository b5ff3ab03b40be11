import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { call, routes } from '../api.ts';
import { useAccount } from '../account.tsx';
import { Card, Empty, Query } from '../components/states.tsx';
import { RewardsBreakdown } from './rewards/breakdown.tsx';
import { EpochList } from './rewards/epochs.tsx';
import { RewardsEvidence } from './rewards/evidence.tsx';
import { RewardsHistoryChart } from './rewards/history-chart.tsx';
import { RewardsSummary } from './rewards/summary.tsx';

/**
 * The connected account's rewards as model owner, datanet owner, contributor or staker: earned,
 * final, claimed and claimable with a one-click claim, the breakdown by role, model and datanet,
 * earnings over time per datanet or model, the answers behind them, and the settlement epochs.
 */
export function RewardsPage() {
  const { signer } = useAccount();
  const address = signer?.address;
  const rewards = useQuery({ queryKey: ['rewards', address], queryFn: () => call(routes.getRewards, { params: { address: address! } }), enabled: !!address });
  const history = useQuery({ queryKey: ['rewards', address, 'history'], queryFn: () => call(routes.getRewardHistory, { params: { address: address! } }), enabled: !!address });

  return (
    <>
      <h1>Rewards</h1>
      {!address ? (
        <Card><Empty>Rewards are paid to accounts: <Link to="/">connect one</Link> to see yours.</Empty></Card>
      ) : (
        <>
          <Card title="Your earnings">
            <Query q={rewards} what="Loading your rewards">{(r) => <RewardsSummary r={r} />}</Query>
          </Card>
          <Card title="By role, model and datanet">
            <Query q={rewards} what="Loading the breakdown">{(r) => <RewardsBreakdown rows={r.breakdown} />}</Query>
          </Card>
          <Card title="Earnings over time">
            <Query q={history} what="Loading the history">{(h) => <RewardsHistoryChart rows={h.history} />}</Query>
          </Card>
          <Card title="Why you earned: answers that credited your contributions">
            <RewardsEvidence address={address} />
          </Card>
        </>
      )}
      <Card title="Settlement epochs">
        <EpochList />
      </Card>
    </>
  );
}
