import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useState } from 'react';
import { isAddressEqual, parseEther, zeroAddress } from 'viem';
import { governanceOpenAbi } from '../../../../src/chain/generated/index.ts';
import { nativeOpen } from '../../open-coin.ts';
import { sendTx, useAccount } from '../../account.tsx';
import { open } from '../../api.ts';
import { Card, Empty, ErrorBox, Query, Short } from '../../components/states.tsx';
import { plainTxError } from './chain.ts';

/**
 * The connected account's OPEN, its current votes and delegate, and a button to delegate its votes
 * to itself (ERC-5805: OPEN counts as votes only once delegated). Where OPEN is the chain's native
 * coin, votes are GOPEN: native OPEN locked in the governance token, with a form to lock more.
 */
export function VotingPowerCard() {
  const account = useAccount();
  const { publicClient, status, signer } = account;
  const qc = useQueryClient();
  const me = signer?.address;
  const token = status?.contracts.governanceToken;
  const native = !!status && nativeOpen(status);
  const [lockAmount, setLockAmount] = useState('');
  const power = useQuery({
    queryKey: ['gov-votes', token, me],
    enabled: !!publicClient && !!token && !!me,
    queryFn: async () => {
      const t = { address: token!, abi: governanceOpenAbi } as const;
      const [balance, votes, delegate] = await Promise.all([
        publicClient!.readContract({ ...t, functionName: 'balanceOf', args: [me!] }),
        publicClient!.readContract({ ...t, functionName: 'getVotes', args: [me!] }),
        publicClient!.readContract({ ...t, functionName: 'delegates', args: [me!] }),
      ]);
      return { balance, votes, delegate };
    },
  });
  const delegate = useMutation({
    mutationFn: async () => {
      try {
        await sendTx(account, { address: token!, abi: governanceOpenAbi, functionName: 'delegate', args: [me!] });
      } catch (e) {
        throw plainTxError(e);
      }
    },
    onSuccess: () => qc.invalidateQueries({ queryKey: ['gov-votes'] }),
  });
  const lock = useMutation({
    mutationFn: async (amount: bigint) => {
      try {
        await sendTx(account, { address: token!, abi: governanceOpenAbi, functionName: 'deposit', args: [], value: amount });
      } catch (e) {
        throw plainTxError(e);
      }
    },
    onSuccess: () => { setLockAmount(''); void qc.invalidateQueries({ queryKey: ['gov-votes'] }); void qc.invalidateQueries({ queryKey: ['balances'] }); },
  });
  const lockWei = /^\d+(\.\d{1,18})?$/.test(lockAmount.trim()) ? parseEther(lockAmount.trim()) : 0n;

  if (!me) {
    return (
      <Card title="Your votes">
        <Empty><Link to="/">Connect an account</Link> to delegate, propose and vote.</Empty>
      </Card>
    );
  }
  return (
    <Card title="Your votes">
      <Query q={power} what="Reading your votes">
        {(p) => {
          const self = isAddressEqual(p.delegate, me);
          return (
            <>
              <div className="grid">
                <div className="stat"><small>{native ? 'OPEN locked for votes (GOPEN)' : 'OPEN balance'}</small><b data-testid="gov-balance">{open(p.balance)}</b></div>
                <div className="stat"><small>Current votes</small><b data-testid="gov-votes" data-wei={p.votes.toString()}>{open(p.votes)}</b></div>
                <div className="stat">
                  <small>Votes delegated to</small>
                  <b>{isAddressEqual(p.delegate, zeroAddress) ? 'nobody' : self ? 'yourself' : <Short value={p.delegate} />}</b>
                </div>
              </div>
              <p>
                {native ? 'Native OPEN votes once locked as GOPEN (withdraw it back at any time) and delegated' : 'OPEN counts as votes only once delegated'}; votes on a proposal are those held when its voting starts.
              </p>
              {native && (
                <div className="row">
                  <input data-testid="gov-lock-amount" placeholder="OPEN to lock, e.g. 100" value={lockAmount} onChange={(e) => setLockAmount(e.target.value)} />
                  <button type="button" data-testid="gov-lock" disabled={lockWei === 0n || lock.isPending} onClick={() => lock.mutate(lockWei)}>
                    {lock.isPending ? 'Locking…' : 'Lock as GOPEN'}
                  </button>
                  <ErrorBox error={lock.error} />
                </div>
              )}
              <div className="row">
                <button type="button" data-testid="gov-delegate" disabled={self || delegate.isPending} onClick={() => delegate.mutate()}>
                  {delegate.isPending ? 'Delegating…' : self ? 'Delegated to yourself' : 'Delegate my votes to myself'}
                </button>
                {delegate.isSuccess && <span className="ok">Delegated.</span>}
              </div>
              <ErrorBox error={delegate.error} />
            </>
          );
        }}
      </Query>
    </Card>
  );
}
