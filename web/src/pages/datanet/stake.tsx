import { useMutation, useQuery } from '@tanstack/react-query';
import type { Address } from 'viem';
import { sendTx, useAccount } from '../../account.tsx';
import { open } from '../../api.ts';
import { ErrorBox, Loading } from '../../components/states.tsx';
import { datanetRegistryAbi, stakingAbi } from '../../../../src/chain/generated/index.ts';
import { nativeOpen, payInto, readOpenBalance } from '../../open-coin.ts';
import { StakingRole } from '../../../../src/chain/staking-role.ts';
import type { Datanet } from './types.ts';

/**
 * The connected account's contributor stake in a datanet that asks for one (its Staking position,
 * role Contributor, scope the datanet): what is bonded on chain, whether it may contribute, and a
 * button bonding what is missing (one stake transaction carrying native OPEN, or approve + stake where OPEN is an ERC-20). Nothing for
 * a datanet without a stake.
 */
export function StakePanel({ datanet }: { datanet: Datanet & { id: number } }) {
  const account = useAccount();
  const { signer, publicClient, status } = account;
  const required = BigInt(datanet.contributionStake);
  const who = signer?.address;
  const stake = useQuery({
    queryKey: ['contributor-stake', datanet.id, who],
    enabled: required > 0n && !!who && !!publicClient && !!status,
    queryFn: async () => {
      const registry = { address: status!.contracts.datanetRegistry, abi: datanetRegistryAbi } as const;
      const [position, may, balance] = await Promise.all([
        publicClient!.readContract({ address: status!.contracts.staking, abi: stakingAbi, functionName: 'positionOf', args: [who as Address, StakingRole.Contributor, BigInt(datanet.id)] }),
        publicClient!.readContract({ ...registry, functionName: 'canContribute', args: [BigInt(datanet.id), who as Address] }),
        readOpenBalance(publicClient!, status!, who as Address),
      ]);
      return { amount: position.bonded, unbonding: position.unbonding, canContribute: may, balance };
    },
  });
  const bond = useMutation({
    mutationFn: async (amount: bigint) => {
      const staking = status!.contracts.staking;
      const payment = await payInto(account, staking, amount);
      await sendTx(account, { address: staking, abi: stakingAbi, functionName: 'stake', args: [StakingRole.Contributor, BigInt(datanet.id), amount], ...payment });
    },
    onSuccess: () => void stake.refetch(),
  });

  if (required === 0n) return <p className="empty">No stake is needed to contribute to this datanet.</p>;
  if (!who) return <p>Contributors bond <b>{open(required)}</b> in this datanet (slashed if a curator rejects a record as spam). Connect an account to see yours.</p>;
  if (stake.isPending) return <Loading what="Reading your stake" />;
  if (stake.isError) return <ErrorBox error={stake.error} />;
  const s = stake.data;
  const missing = s.amount >= required ? 0n : required - s.amount;
  return (
    <div data-testid="stake-status">
      <p>
        Contributors bond <b>{open(required)}</b> (slashed if a curator rejects a record as spam). You have <b>{open(s.amount)}</b> bonded
        {s.unbonding > 0n ? `, and ${open(s.unbonding)} asked back (it no longer counts)` : ''};{' '}
        {s.canContribute ? <span className="ok">you may contribute.</span> : <span className="error">your records would be rejected (insufficient_stake).</span>}
      </p>
      {!s.canContribute && (
        <div className="row">
          <button type="button" data-testid="stake-bond" disabled={bond.isPending || s.balance < (missing || required)} onClick={() => bond.mutate(missing || required)}>
            {bond.isPending ? (nativeOpen(status!) ? 'Bonding…' : 'Bonding (approve, then stake)…') : `Bond ${open(missing || required)}`}
          </button>
          <small className="empty">your balance: {open(s.balance)}</small>
        </div>
      )}
      <ErrorBox error={bond.error} />
    </div>
  );
}
