import type { ReactNode } from 'react';
import { open } from '../../api.ts';
import { Card, Query } from '../../components/states.tsx';
import { duration, pct } from './chain.ts';
import { useGovClock, useGovParams } from './hooks.ts';
import type { GovParams } from './params.ts';

function Stat({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="stat" {...(testId ? { 'data-testid': testId } : {})}>
      <small>{label}</small>
      <b>{children}</b>
    </div>
  );
}

function FeeSplit({ split }: { split: GovParams['feeSplit'] }) {
  const rows = [
    ['Model owner', split.modelOwnerBps],
    ['Datanet owners', split.datanetOwnersBps],
    ['Contributors', split.contributorsBps],
    ['Stakers', split.stakersBps],
  ] as const;
  return (
    <table data-testid="gov-fee-split" data-bps={rows.map(([, v]) => v).join(',')}>
      <thead><tr><th>Share of each inference fee</th><th>bps</th><th>%</th></tr></thead>
      <tbody>
        {rows.map(([label, bps]) => (
          <tr key={label}><td>{label}</td><td>{bps.toLocaleString('en')}</td><td>{pct(bps)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

/** The protocol parameters in force, read from the contracts (settlement, escrow, staking, governor, timelock). */
export function ParametersCard() {
  const params = useGovParams();
  const clock = useGovClock();
  const span = (n: bigint) => clock.data?.mode === 'timestamp' ? duration(n) : `${n.toLocaleString('en')} block${n === 1n ? '' : 's'}`;
  return (
    <Card title="Parameters in force">
      <Query q={params} what="Reading the parameters from the chain">
        {(p) => (
          <>
            <FeeSplit split={p.feeSplit} />
            <h3>Attribution and settlement</h3>
            <div className="grid">
              <Stat label="Attribution threshold" testId="gov-threshold">
                <span data-ppm={p.attributionThresholdPpm}>{p.attributionThresholdPpm.toLocaleString('en')} ppm ({pct(p.attributionThresholdPpm, 1_000_000)})</span>
              </Stat>
              <Stat label="Evidence threshold (below: the datanets' pools are paid)" testId="gov-evidence-threshold">
                <span data-ppm={p.evidenceThresholdPpm}>{p.evidenceThresholdPpm.toLocaleString('en')} ppm ({pct(p.evidenceThresholdPpm, 1_000_000)})</span>
              </Stat>
              <Stat label="Span weight (rest: influence)">{p.spanWeightBps.toLocaleString('en')} bps ({pct(p.spanWeightBps)})</Stat>
              <Stat label="Challenge window">{duration(p.challengeWindow)}</Stat>
              <Stat label="Dispute bond">{open(p.disputeBond)}</Stat>
              <Stat label="Operator slash amount">{open(p.operatorSlashAmount)}</Stat>
              <Stat label="Escrow withdrawal delay">{duration(p.withdrawalDelay)}</Stat>
              <Stat label="Minimum operator stake">{open(p.minimumOperatorStake)}</Stat>
              <Stat label="Unbonding delay">{duration(p.unbondingDelay)}</Stat>
            </div>
            <h3>Governance</h3>
            <div className="grid">
              <Stat label="Voting delay">{span(p.votingDelay)}</Stat>
              <Stat label="Voting period">{span(p.votingPeriod)}</Stat>
              <Stat label="Proposal threshold">{open(p.proposalThreshold)}</Stat>
              <Stat label={`Quorum (${pct(p.quorumNumerator, Number(p.quorumDenominator))} of the supply)`}>{open(p.quorum)}</Stat>
              <Stat label="Timelock delay">{duration(p.timelockDelay)}</Stat>
            </div>
          </>
        )}
      </Query>
    </Card>
  );
}
