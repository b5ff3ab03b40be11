import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { formatEther } from 'viem';
import { open } from '../../api.ts';
import { useAccount } from '../../account.tsx';
import { Card, ErrorBox, Query } from '../../components/states.tsx';
import { useBalances } from './balances.ts';
import { nativeOpen } from '../../open-coin.ts';

/** The connected account: its address, OPEN, escrow deposit and gas balances, and a disconnect button. */
export function AccountCard() {
  const state = useAccount();
  const { signer, kind, status, devAccounts, disconnect } = state;
  const balances = useBalances(signer?.address);
  const queryClient = useQueryClient();
  if (!signer) return null;
  const devIndex = kind === 'dev' ? devAccounts.findIndex((a) => a.toLowerCase() === signer.address.toLowerCase()) : -1;
  const isOperator = status?.nodeAccount.toLowerCase() === signer.address.toLowerCase();
  return (
    <Card
      title="Connected account"
      actions={
        <div className="row">
          <button type="button" className="secondary" data-testid="refresh-balances" onClick={() => void queryClient.invalidateQueries({ queryKey: ['balances'] })}>Refresh</button>
          <button type="button" className="secondary" data-testid="disconnect" onClick={disconnect}>Disconnect</button>
        </div>
      }
    >
      <p>
        <code data-testid="connected-address">{signer.address}</code>{' '}
        <span data-testid="connected-kind">{kind === 'dev' ? `development account ${devIndex}` : 'browser wallet'}</span>
        {isOperator && <strong data-testid="connected-is-operator"> · this node's operator</strong>}
      </p>
      {kind === 'injected' && <WalletChainCheck />}
      <Query q={balances} what="Reading balances from the chain">
        {(b) => (
          <div className="grid">
            <div className="stat"><span>OPEN in the wallet</span><b data-testid="balance-open">{open(b.open)}</b></div>
            <div className="stat">
              <span>deposited in the inference escrow</span>
              <b data-testid="balance-escrow">{open(b.escrow)}</b>
              {b.withdrawal.amount > 0n && (
                <small data-testid="balance-withdrawal">
                  withdrawal of {open(b.withdrawal.amount)} requested, unlocks {new Date(Number(b.withdrawal.unlockAt) * 1000).toLocaleString()}
                </small>
              )}
            </div>
            {status && nativeOpen(status) ? (
              <div className="stat">
                <span>gas</span>
                <b data-testid="balance-eth">paid in OPEN</b>
                {b.eth === 0n && <small className="error">without OPEN this account cannot send transactions</small>}
              </div>
            ) : (
              <div className="stat">
                <span>ETH for gas</span>
                <b data-testid="balance-eth">{Number(formatEther(b.eth)).toLocaleString('en', { maximumFractionDigits: 6 })} ETH</b>
                {b.eth === 0n && <small className="error">without ETH this account cannot send transactions</small>}
              </div>
            )}
          </div>
        )}
      </Query>
    </Card>
  );
}

/** For a browser wallet: whether it is on the node's chain, with a button that switches it (adding the chain if the wallet lacks it). */
function WalletChainCheck() {
  const { walletClient, chain } = useAccount();
  const walletChain = useQuery({
    queryKey: ['wallet-chain'],
    enabled: !!walletClient,
    refetchInterval: 3000,
    queryFn: () => walletClient!.getChainId(),
  });
  const queryClient = useQueryClient();
  const switchChain = useMutation({
    mutationFn: async () => {
      if (!walletClient || !chain) throw new Error('the node\'s chain is not known yet');
      try {
        await walletClient.switchChain({ id: chain.id });
      } catch (err) {
        const code = (err as { code?: number; cause?: { code?: number } }).code ?? (err as { cause?: { code?: number } }).cause?.code;
        if (code !== 4902 && !/unrecognized|not been added|unknown chain/i.test((err as Error).message)) throw err;
        await walletClient.addChain({ chain });
      }
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['wallet-chain'] }),
  });
  if (!chain || walletChain.data === undefined) return <ErrorBox error={walletChain.error} />;
  if (walletChain.data === chain.id) return <p className="ok" data-testid="wallet-chain-ok">The wallet is on the node's chain ({chain.id}).</p>;
  return (
    <div>
      <p className="error" data-testid="wallet-chain-mismatch">
        The wallet is on chain {walletChain.data}, the node on chain {chain.id}: transactions will fail until you switch.
      </p>
      <button type="button" data-testid="wallet-switch-chain" disabled={switchChain.isPending} onClick={() => switchChain.mutate()}>
        {switchChain.isPending ? 'Switching…' : `Switch the wallet to chain ${chain.id}`}
      </button>
      <ErrorBox error={switchChain.error} />
    </div>
  );
}
