import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { createTestClient, http } from 'viem';
import { useAccount } from '../../account.tsx';
import { Card, ErrorBox, Field } from '../../components/states.tsx';
import { duration, plainTxError } from './chain.ts';
import type { GovParams } from './params.ts';

const MAX_BLOCKS = 1_000_000;

/**
 * On the embedded development chain only: blocks are mined only when a transaction arrives, so a
 * voting period or a timelock delay never ends by itself. This mines blocks and moves the chain's
 * clock forward (anvil_mine / evm_increaseTime) so a proposal can be taken through its whole life.
 */
export function DevChainCard({ params }: { params: GovParams }) {
  const { chain, status } = useAccount();
  const qc = useQueryClient();
  const [blocks, setBlocks] = useState(String(params.votingPeriod + 1n));
  const [seconds, setSeconds] = useState(String(params.timelockDelay + 1n));
  const [error, setError] = useState<{ blocks?: string; seconds?: string }>({});
  const advance = useMutation({
    mutationFn: async (what: { blocks: number } | { seconds: number }) => {
      if (!chain || !status) throw new Error('The node status is not loaded yet.');
      const test = createTestClient({ chain, mode: 'anvil', transport: http(chain.rpcUrls.default.http[0]) });
      try {
        if ('blocks' in what) await test.mine({ blocks: what.blocks });
        else {
          await test.increaseTime({ seconds: what.seconds });
          await test.mine({ blocks: 1 });
        }
      } catch (e) {
        throw plainTxError(e);
      }
      return 'blocks' in what ? `Mined ${what.blocks.toLocaleString('en')} blocks.` : `Moved the clock ${duration(what.seconds)} forward.`;
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['gov-clock'] });
      void qc.invalidateQueries({ queryKey: ['gov-proposal'] });
    },
  });
  const whole = (s: string, max: number) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= max;
  const mine = () => {
    const ok = whole(blocks, MAX_BLOCKS);
    setError({ ...(ok ? {} : { blocks: `A whole number of blocks from 1 to ${MAX_BLOCKS.toLocaleString('en')}.` }) });
    if (ok) advance.mutate({ blocks: Number(blocks) });
  };
  const wait = () => {
    const ok = whole(seconds, 10 * 365 * 86400);
    setError({ ...(ok ? {} : { seconds: 'A whole number of seconds, at least 1.' }) });
    if (ok) advance.mutate({ seconds: Number(seconds) });
  };
  return (
    <Card title="Development chain">
      <p>
        This node runs an embedded development chain, which mines a block only for a transaction. To take a
        proposal through voting and the timelock here, mine blocks past its deadline and move the clock past the timelock delay.
      </p>
      <div className="row">
        <Field label="Blocks" error={error.blocks} hint={`voting period: ${params.votingPeriod.toLocaleString('en')}`}>
          <input data-testid="gov-dev-blocks" inputMode="numeric" value={blocks} onChange={(e) => setBlocks(e.target.value)} />
        </Field>
        <button type="button" className="secondary" data-testid="gov-dev-mine" disabled={advance.isPending} onClick={mine}>Mine blocks</button>
        <Field label="Seconds" error={error.seconds} hint={`timelock delay: ${duration(params.timelockDelay)}`}>
          <input data-testid="gov-dev-seconds" inputMode="numeric" value={seconds} onChange={(e) => setSeconds(e.target.value)} />
        </Field>
        <button type="button" className="secondary" data-testid="gov-dev-advance-time" disabled={advance.isPending} onClick={wait}>Move the clock</button>
      </div>
      {advance.isPending && <p className="loading">Working…</p>}
      {advance.isSuccess && !advance.isPending && <p className="ok">{advance.data}</p>}
      <ErrorBox error={advance.error} />
    </Card>
  );
}
