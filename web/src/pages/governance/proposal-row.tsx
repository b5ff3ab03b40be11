import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { keccak256, toBytes } from 'viem';
import { openGovernorAbi } from '../../../../src/chain/generated/index.ts';
import { sendTx, useAccount } from '../../account.tsx';
import { open } from '../../api.ts';
import { ErrorBox, Loading, Short } from '../../components/states.tsx';
import { governorTxAbi, plainTxError, PROPOSAL_STATES, SUPPORT, timepoint, type GovClock, type ProposalState } from './chain.ts';
import { describeAction, type Proposal } from './proposals.ts';

type Action = { kind: 'vote'; support: number } | { kind: 'queue' } | { kind: 'execute' };
const DONE = { vote: 'Vote cast.', queue: 'Queued in the timelock.', execute: 'Executed.' } as const;

/** Reads a proposal's state, tally and timing, and the connected account's vote on it. */
function useProposalState(p: Proposal, clock: GovClock | undefined) {
  const { publicClient, status, signer } = useAccount();
  const me = signer?.address;
  return useQuery({
    queryKey: ['gov-proposal', p.id.toString(), me, clock?.block.toString()],
    enabled: !!publicClient && !!status && !!clock,
    placeholderData: (prev) => prev,
    queryFn: async () => {
      const g = { address: status!.contracts.governor, abi: openGovernorAbi } as const;
      const c = publicClient!;
      const [state, [against, forVotes, abstain], snapshot, deadline, eta] = await Promise.all([
        c.readContract({ ...g, functionName: 'state', args: [p.id] }),
        c.readContract({ ...g, functionName: 'proposalVotes', args: [p.id] }),
        c.readContract({ ...g, functionName: 'proposalSnapshot', args: [p.id] }),
        c.readContract({ ...g, functionName: 'proposalDeadline', args: [p.id] }),
        c.readContract({ ...g, functionName: 'proposalEta', args: [p.id] }),
      ]);
      const started = snapshot < clock!.now; // quorum and past votes only look at past clock points
      const [quorum, voted, weight] = await Promise.all([
        started ? c.readContract({ ...g, functionName: 'quorum', args: [snapshot] }) : null,
        me ? c.readContract({ ...g, functionName: 'hasVoted', args: [p.id, me] }) : null,
        me && started ? c.readContract({ ...g, functionName: 'getVotes', args: [me, snapshot] }) : null,
      ]);
      return { state: (PROPOSAL_STATES[state] ?? 'Pending') as ProposalState, against, forVotes, abstain, snapshot, deadline, eta, quorum, voted, weight };
    },
  });
}

/**
 * One proposal: its description and actions, state, tally and deadline, with the connected
 * account's next step (vote while Active, queue once Succeeded, execute once the timelock delay passed).
 */
export function ProposalRow({ p, clock }: { p: Proposal; clock: GovClock | undefined }) {
  const account = useAccount();
  const qc = useQueryClient();
  const s = useProposalState(p, clock);
  const id = p.id.toString();
  const act = useMutation({
    mutationFn: async (a: Action) => {
      const governor = account.status!.contracts.governor;
      const descriptionHash = keccak256(toBytes(p.description));
      try {
        if (a.kind === 'vote') await sendTx(account, { address: governor, abi: governorTxAbi, functionName: 'castVote', args: [p.id, a.support] });
        else await sendTx(account, { address: governor, abi: governorTxAbi, functionName: a.kind, args: [p.targets, p.values, p.calldatas, descriptionHash] });
      } catch (e) {
        throw plainTxError(e);
      }
      return a;
    },
    onSuccess: (a) => {
      void qc.invalidateQueries({ queryKey: ['gov-proposal', id] });
      void qc.invalidateQueries({ queryKey: ['gov-clock'] });
      if (a.kind === 'execute') void qc.invalidateQueries({ queryKey: ['gov-params'] });
    },
  });
  const contracts = account.status?.contracts;
  const d = s.data;
  const connected = !!account.signer;
  const ready = d && clock ? clock.timestamp >= d.eta : false;

  return (
    <article className="card" data-testid={`gov-proposal-${id}`} data-state={d?.state ?? ''}>
      <header className="row">
        <strong data-testid={`gov-state-${id}`}>{d?.state ?? '…'}</strong>
        <span>proposal <Short value={id} /> by <Short value={p.proposer} /></span>
      </header>
      <p style={{ whiteSpace: 'pre-wrap' }}>{p.description}</p>
      <ul>
        {contracts && p.targets.map((t, i) => <li key={i}><code>{describeAction(t, p.calldatas[i] ?? '0x', p.values[i] ?? 0n, contracts)}</code></li>)}
      </ul>
      {s.isPending && <Loading what="Reading the proposal from the chain" />}
      <ErrorBox error={s.error} />
      {d && clock && (
        <>
          <table>
            <tbody>
              <tr><th>For</th><td data-testid={`gov-for-${id}`}>{open(d.forVotes)}</td><th>Against</th><td>{open(d.against)}</td><th>Abstain</th><td>{open(d.abstain)}</td></tr>
              <tr>
                <th>Quorum</th><td colSpan={5}>{d.quorum === null ? 'known once voting starts' : `${open(d.quorum)} (For + Abstain ${d.forVotes + d.abstain >= d.quorum ? 'reach it' : 'below it'})`}</td>
              </tr>
              <tr><th>Voting starts</th><td colSpan={5}>{timepoint(d.snapshot + 1n, clock)}</td></tr>
              <tr><th>Deadline</th><td colSpan={5}>{timepoint(d.deadline, clock)}</td></tr>
              {d.eta > 0n && d.state === 'Queued' && <tr><th>Executable from</th><td colSpan={5}>{new Date(Number(d.eta) * 1000).toLocaleString()}{ready ? ' (now)' : ''}</td></tr>}
            </tbody>
          </table>
          <div className="row" style={{ marginTop: '.75rem' }}>
            {d.state === 'Active' && (d.voted ? <span className="ok">You voted.</span> : (
              <>
                {(['For', 'Against', 'Abstain'] as const).map((v) => (
                  <button key={v} type="button" className={v === 'For' ? '' : 'secondary'} data-testid={`gov-vote-${v.toLowerCase()}-${id}`}
                    disabled={!connected || act.isPending} onClick={() => act.mutate({ kind: 'vote', support: SUPPORT[v] })}>
                    Vote {v}
                  </button>
                ))}
                {d.weight !== null && <small>your weight: {open(d.weight)}{d.weight === 0n ? ' (delegate before a vote starts to count)' : ''}</small>}
              </>
            ))}
            {d.state === 'Succeeded' && (
              <button type="button" data-testid={`gov-queue-${id}`} disabled={!connected || act.isPending} onClick={() => act.mutate({ kind: 'queue' })}>
                Queue in the timelock
              </button>
            )}
            {d.state === 'Queued' && (
              <button type="button" data-testid={`gov-execute-${id}`} disabled={!connected || act.isPending || !ready} onClick={() => act.mutate({ kind: 'execute' })}>
                {ready ? 'Execute' : 'Execute (waiting for the timelock delay)'}
              </button>
            )}
            {d.state === 'Pending' && <small>Voting has not started yet.</small>}
            {!connected && ['Active', 'Succeeded', 'Queued'].includes(d.state) && <small>Connect an account to act on this proposal.</small>}
            {act.isPending && <span className="loading">Sending…</span>}
            {act.isSuccess && !act.isPending && <span className="ok">{DONE[act.data.kind]}</span>}
          </div>
          <ErrorBox error={act.error} />
        </>
      )}
    </article>
  );
}
