import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { isAddressEqual, zeroAddress } from 'viem';
import { openTokenAbi } from '../../../../src/chain/generated/index.ts';
import { sendTx, useAccount } from '../../account.tsx';
import { open } from '../../api.ts';
import { Card, Empty, ErrorBox, Query, Short } from '../../components/states.tsx';
import { plainTxError } from './chain.ts';

/**
 * The connected account's OPEN, its current votes and delegate, and a button to delegate its votes
 * to itself (ERC-5805: OPEN counts as votes only once delegated).
 */
export function VotingPowerCard() {
  const account = useAccount();
  const { publicClient, status, signer } = account;
  const qc = useQueryClient();
  const me = signer?.address;
  const token = status?.contracts.openToken;
  const power = useQuery({
    queryKey: ['gov-votes', token, me],
    enabled: !!publicClient && !!token && !!me,
    queryFn: async () => {
      const t = { address: token!, abi: openTokenAbi } as const;
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
        await sendTx(account, { address: token!, abi: openTokenAbi, functionName: 'delegate', args: [me!] });
      } catch (e) {
        throw plainTxError(e);
      }
    },
    onSuccess: () => qc.invalidateQueries({ queryKey: ['gov-votes'] }),
  });

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
                <div className="stat"><small>OPEN balance</small><b>{open(p.balance)}</b></div>
                <div className="stat"><small>Current votes</small><b data-testid="gov-votes" data-wei={p.votes.toString()}>{open(p.votes)}</b></div>
                <div className="stat">
                  <small>Votes delegated to</small>
                  <b>{isAddressEqual(p.delegate, zeroAddress) ? 'nobody' : self ? 'yourself' : <Short value={p.delegate} />}</b>
                </div>
              </div>
              <p>
                OPEN counts as votes only once delegated; votes on a proposal are those held when its voting starts.
              </p>
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
