import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { open } from '../../api.ts';
import { sendTx, useAccount } from '../../account.tsx';
import { ErrorBox } from '../../components/states.tsx';
import { attributionSettlementAbi } from '../../../../src/chain/generated/index.ts';
import type { Rewards } from './types.ts';

/**
 * Earned / final / claimed / claimable, and the one-click claim: `AttributionSettlement.claim(operator, payee,
 * cumulativeAmount, proof)` with the proof the node gives, as the connected account; then refreshes.
 */
export function RewardsSummary({ r }: { r: Rewards }) {
  const account = useAccount();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const claim = async () => {
    if (!r.claim || !account.status) return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await sendTx(account, {
        address: account.status.contracts.attributionSettlement, abi: attributionSettlementAbi, functionName: 'claim',
        args: [r.claim.operator, r.payee, BigInt(r.claim.cumulativeAmount), r.claim.proof],
      });
      setDone(`claimed ${open(r.claimable)} (epoch ${r.claim.epoch})`);
      await Promise.all([qc.invalidateQueries({ queryKey: ['rewards'] }), qc.invalidateQueries({ queryKey: ['open-balance'] })]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const pendingFinal = BigInt(r.earned) - BigInt(r.final);
  return (
    <>
      <div className="grid">
        <div className="stat">earned<b data-testid="rewards-earned">{open(r.earned)}</b><small>in the newest posted epoch</small></div>
        <div className="stat">final<b>{open(r.final)}</b><small>{pendingFinal > 0n ? `${open(pendingFinal)} waits for its challenge window` : 'past the challenge window'}</small></div>
        <div className="stat">claimed<b data-testid="rewards-claimed">{open(r.claimed)}</b></div>
        <div className="stat">claimable<b data-testid="rewards-claimable">{open(r.claimable)}</b></div>
      </div>
      <div className="row" style={{ marginTop: '.75rem' }}>
        <button type="button" data-testid="rewards-claim" onClick={claim} disabled={busy || !r.claim || !account.walletClient}>
          {busy ? 'Claiming…' : r.claim ? `Claim ${open(r.claimable)}` : 'Nothing to claim'}
        </button>
        {done && <span className="ok" role="status">{done}</span>}
        {!r.claim && BigInt(r.earned) > BigInt(r.claimed) && <span className="empty">earnings become claimable once their epoch is final</span>}
      </div>
      <ErrorBox error={error} />
    </>
  );
}
